// The sandbox page: a Telegram-like chat and the panel operator's column.
// Every text shown comes from the server as plain strings and goes into the DOM as text nodes
// (textContent, createTextNode): never innerHTML, so nothing a panel or a person wrote can
// become markup. Changes arrive over one server-sent-event stream; nothing is polled.
"use strict";

const state = {
  people: [],
  chats: new Map(),        // person id -> Map(message id -> message)
  replyKeyboards: new Map(),
  commands: {},
  panel: null,
  current: null,
  unread: new Map(),
  mode: "",
};

function el(tag, props, children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (name === "text") node.textContent = value;
    else if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value);
  }
  for (const child of children || []) node.append(child);
  return node;
}

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body || {}),
  });
  const answer = await response.json().catch(() => ({ ok: false, error: "no answer" }));
  if (!answer.ok) throw new Error(answer.error || "refused");
  return answer;
}

// --- Telegram's formatting, from the server's node tree -------------------------------------

const SAFE_TAGS = new Set(["b", "i", "u", "s", "code", "pre", "blockquote", "span"]);

function renderNodes(nodes, parent) {
  for (const node of nodes) {
    if (typeof node === "string") {
      parent.append(document.createTextNode(node));
      continue;
    }
    let element;
    if (node.tag === "a") {
      element = document.createElement("a");
      if (typeof node.href === "string" && /^(https?|tg):\/\//.test(node.href)) {
        element.href = node.href;
        element.target = "_blank";
        element.rel = "noopener noreferrer";
      }
    } else if (node.tag === "spoiler") {
      element = el("span", { class: "spoiler", onclick: (e) => e.currentTarget.classList.add("shown") });
    } else {
      element = document.createElement(SAFE_TAGS.has(node.tag) ? node.tag : "span");
    }
    renderNodes(node.children || [], element);
    parent.append(element);
  }
}

// --- the chat --------------------------------------------------------------------------------

function chatOf(id) {
  if (!state.chats.has(id)) state.chats.set(id, new Map());
  return state.chats.get(id);
}

function person() {
  return state.people.find((p) => p.id === state.current);
}

// A payment's service line, centred in the chat as Telegram draws it.
function serviceLine(message) {
  const service = message.service;
  const text = service.kind === "refunded_payment"
    ? `⭐️${service.stars} were refunded to you`
    : `You successfully transferred ⭐️${service.stars} to SMM Panel Bot`;
  return el("div", { class: "service", dataset: { id: String(message.id) }, text });
}

// An invoice: the bot's title, description and price, each a text node.
function invoiceBody(invoice) {
  return el("div", { class: "invoice" }, [
    el("div", { class: "invoice-title", text: invoice.title }),
    el("div", { class: "invoice-description", text: invoice.description }),
    el("div", { class: "invoice-price", text: `⭐️${invoice.stars} · Telegram Stars` }),
  ]);
}

function renderMessage(message) {
  if (message.service) return [serviceLine(message)];
  const bubble = el("div", {
    class: message.from_bot ? "msg" : "msg mine",
    dataset: { id: String(message.id) },
  });
  if (message.media) bubble.append(el("div", { class: "media", text: message.media === "photo" ? "🖼 Photo" : "📎 " + message.media }));
  if (message.invoice) {
    bubble.classList.add("has-invoice");
    bubble.append(invoiceBody(message.invoice));
  } else {
    const text = el("div", { class: "text" });
    renderNodes(message.nodes, text);
    bubble.append(text);
  }
  const time = new Date(message.date * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  bubble.append(el("div", { class: "meta", text: (message.edited ? "edited " : "") + time }));
  const items = [bubble];
  if (message.buttons.length) {
    const keyboard = el("div", { class: "keyboard", dataset: { message: String(message.id) } });
    for (const row of message.buttons) {
      const line = el("div", { class: "row" });
      for (const button of row) line.append(inlineButton(message, button));
      keyboard.append(line);
    }
    items.push(keyboard);
  }
  return items;
}

function inlineButton(message, button) {
  const label = button.url ? button.text + " ↗" : button.text;
  const node = el("button", { type: "button", text: label, class: button.pay ? "pay" : "" });
  node.addEventListener("click", () => {
    if (button.url) {
      if (/^https?:\/\//.test(button.url)) window.open(button.url, "_blank", "noopener");
      return;
    }
    if (button.pay) {
      pay(node, message.id);
      return;
    }
    act("press", { message_id: message.id, data: button.data });
  });
  return node;
}

function renderChat() {
  const box = document.getElementById("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  box.replaceChildren();
  for (const message of chatOf(state.current).values()) box.append(...renderMessage(message));
  if (atBottom) box.scrollTop = box.scrollHeight;
  renderReplyKeyboard();
  const me = person();
  if (me) {
    document.getElementById("language").value = me.language;
    document.getElementById("block").textContent = me.blocked ? "Restart bot" : "Stop bot";
  }
}

function renderReplyKeyboard() {
  const box = document.getElementById("reply-keyboard");
  const markup = state.replyKeyboards.get(state.current);
  box.replaceChildren();
  box.hidden = !markup;
  if (!markup) return;
  for (const row of markup.keyboard || []) {
    const line = el("div", { class: "row" });
    for (const button of row) {
      const text = typeof button === "string" ? button : button.text;
      line.append(el("button", { type: "button", text, onclick: () => sendText(text) }));
    }
    box.append(line);
  }
}

function renderCommandMenu() {
  const box = document.getElementById("command-menu");
  const me = person();
  const commands = (me && state.commands[me.language]) || [];
  box.replaceChildren(
    ...commands.map((c) =>
      el("button", { type: "button", onclick: () => { box.hidden = true; sendText("/" + c.command); } }, [
        el("span", { class: "cmd", text: "/" + c.command }),
        el("span", { text: c.description }),
      ]),
    ),
  );
}

function renderPeople() {
  const list = document.getElementById("people-list");
  list.replaceChildren(
    ...state.people.map((p) => {
      const unread = state.unread.get(p.id) || 0;
      const name = el("span", {}, [document.createTextNode(p.name + " · " + p.language)]);
      if (p.key) name.append(el("span", { class: "key", text: "panel key: " + p.key }));
      const item = el("li", {
        class: p.id === state.current ? "active" : "",
        dataset: { person: String(p.id) },
        onclick: () => choose(p.id),
      }, [el("div", { class: "avatar", text: p.name.slice(0, 1) }), name]);
      if (unread) item.append(el("span", { class: "badge", text: String(unread) }));
      return item;
    }),
  );
  const hint = document.getElementById("mode-hint");
  const hints = {
    "own-key": "Own-key mode: send /connect, then the person's panel key shown above.",
    "shared-key": "Shared-key mode: everyone here uses the operator's panel key. Alice is an admin.",
    shop: "Shop mode: each person pays from a wallet in the bot (it starts with $10); " +
      "/topup adds more with Telegram Stars or Crypto Pay, both simulated: nothing is charged. " +
      "Alice is an admin: /credit, /markup, /stats.",
  };
  hint.textContent = hints[state.mode] || "";
}

function choose(id) {
  state.current = id;
  state.unread.set(id, 0);
  document.getElementById("command-menu").hidden = true;
  renderPeople();
  renderCommandMenu();
  renderChat();
}

let toastTimer = null;
function toast(text) {
  const box = document.getElementById("toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, 3000);
}

function showAlert(text) {
  document.getElementById("alert-text").textContent = text;
  document.getElementById("alert").hidden = false;
}

let typingTimer = null;
function showTyping() {
  const status = document.getElementById("chat-status");
  status.textContent = "typing…";
  clearTimeout(typingTimer);
  typingTimer = setTimeout(() => { status.textContent = "bot"; }, 5000);
}

async function act(action, body) {
  try {
    const answer = await post(`/api/people/${state.current}/${action}`, body);
    updatePerson(answer.person);
  } catch (error) {
    toast(error.message);
  }
}

// Pay a Stars invoice: the bot's pre-checkout answer decides; a refusal shows as Telegram's.
async function pay(button, messageId) {
  button.disabled = true;
  try {
    const answer = await post(`/api/people/${state.current}/pay`, { message_id: messageId });
    if (answer.refusal) showAlert(answer.refusal);
  } catch (error) {
    toast(error.message);
  } finally {
    button.disabled = false;
  }
}

function sendText(text) {
  if (text.trim()) act("send", { text });
}

function updatePerson(updated) {
  const index = state.people.findIndex((p) => p.id === updated.id);
  if (index >= 0) state.people[index] = updated;
  renderPeople();
  if (updated.id === state.current) {
    renderCommandMenu();
    renderChat();
  }
}

// --- the panel -------------------------------------------------------------------------------

function panelButton(label, action, body) {
  return el("button", {
    type: "button",
    text: label,
    onclick: async () => {
      const error = document.getElementById("panel-error");
      try {
        await post("/api/panel/" + action, body());
        error.hidden = true;
      } catch (failure) {
        error.textContent = failure.message;
        error.hidden = false;
      }
    },
  });
}

function renderPanel() {
  const panel = state.panel;
  if (!panel) return;
  document.getElementById("balances").replaceChildren(
    ...panel.balances.map((b) => {
      const input = el("input", { type: "number", min: "0", step: "0.01", value: b.amount });
      return el("div", { class: "balance", dataset: { key: b.key } }, [
        el("span", { text: b.account }),
        el("span", { class: "amount", text: "$" + b.amount }),
        input,
        panelButton("Set", "balance", () => ({ key: b.key, amount: input.value })),
      ]);
    }),
  );
  for (const box of document.querySelectorAll("[data-outage]")) {
    box.checked = panel.outages.includes(box.dataset.outage);
  }
  const orders = document.getElementById("orders");
  if (panel.orders.length) orders.replaceChildren(...panel.orders.map(orderCard));
  const refills = document.getElementById("refills");
  if (panel.refills.length) refills.replaceChildren(...panel.refills.map((r) => refillCard(r, panel.refill_statuses)));
}

function orderCard(order) {
  const card = el("div", { class: "card", dataset: { order: String(order.id) } }, [
    el("div", { class: "line" }, [
      el("strong", { text: "#" + order.id }),
      el("span", { class: order.final ? "status final" : "status", text: order.status }),
    ]),
    el("div", { class: "detail", text: order.service }),
    el("div", { class: "detail", text: `${order.link} · ${order.quantity} · $${order.charge} · remains ${order.remains ?? "?"} · ${order.account}` }),
  ]);
  if (!order.final) {
    const remains = el("input", { type: "number", min: "1", max: String(order.quantity - 1), placeholder: "remains" });
    card.append(el("div", { class: "actions" }, [
      panelButton("In progress", "start", () => ({ order: order.id })),
      panelButton("Completed", "complete", () => ({ order: order.id })),
      remains,
      panelButton("Partial", "partial", () => ({ order: order.id, remains: remains.value })),
      panelButton("Canceled", "cancel", () => ({ order: order.id })),
    ]));
  }
  return card;
}

function refillCard(refill, statuses) {
  const card = el("div", { class: "card", dataset: { refill: String(refill.id) } }, [
    el("div", { class: "line" }, [
      el("strong", { text: `Refill #${refill.id} of order #${refill.order}` }),
      el("span", { class: refill.final ? "status final" : "status", text: refill.status }),
    ]),
  ]);
  if (!refill.final) {
    card.append(el("div", { class: "actions" }, [
      panelButton("Next step", "advance_refill", () => ({ refill: refill.id })),
      ...statuses.filter((s) => s !== refill.status).map((s) =>
        panelButton(s, "set_refill", () => ({ refill: refill.id, status: s }))),
    ]));
  }
  return card;
}

// --- the event stream ------------------------------------------------------------------------

function applySnapshot(snapshot) {
  state.mode = snapshot.mode;
  state.people = snapshot.people;
  state.commands = snapshot.commands;
  state.panel = snapshot.panel;
  state.chats = new Map();
  for (const [id, messages] of Object.entries(snapshot.chats)) {
    const chat = chatOf(Number(id));
    for (const message of messages) chat.set(message.id, message);
  }
  state.replyKeyboards = new Map(Object.entries(snapshot.reply_keyboards).map(([id, kb]) => [Number(id), kb]));
  if (!state.people.some((p) => p.id === state.current)) state.current = state.people[0].id;
  const language = document.getElementById("language");
  language.replaceChildren(...snapshot.languages.map((l) => el("option", { value: l, text: l })));
  choose(state.current);
  renderPanel();
}

function applyChat(event) {
  const chat = chatOf(event.chat);
  if (event.kind === "message_sent" || event.kind === "message_edited") {
    chat.set(event.message.id, event.message);
    if (event.kind === "message_sent" && event.message.from_bot) {
      state.replyKeyboards.set(event.chat, event.reply_keyboard || null);
      if (event.chat !== state.current) state.unread.set(event.chat, (state.unread.get(event.chat) || 0) + 1);
      if (event.chat === state.current) document.getElementById("chat-status").textContent = "bot";
    }
  } else if (event.kind === "message_deleted") {
    chat.delete(event.message.id);
  } else if (event.kind === "callback_answered") {
    if (event.chat === state.current && event.text) {
      if (event.alert) showAlert(event.text);
      else toast(event.text);
    }
    return;
  } else if (event.kind === "chat_action") {
    if (event.chat === state.current) showTyping();
    return;
  } else {
    return;
  }
  if (event.chat === state.current) renderChat();
  else renderPeople();
}

function connect() {
  const source = new EventSource("/api/events");
  const offline = document.getElementById("offline");
  source.onopen = () => { offline.hidden = true; };
  source.onerror = () => { offline.hidden = false; };
  source.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (event.type === "snapshot") applySnapshot(event);
    else if (event.type === "chat") applyChat(event);
    else if (event.type === "panel") { state.panel = event.panel; renderPanel(); }
    else if (event.type === "commands") { state.commands = event.commands; renderCommandMenu(); }
    else if (event.type === "person") updatePerson(event);
    document.body.dataset.ready = "1";
  };
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = document.getElementById("input");
    sendText(input.value);
    input.value = "";
  });
  document.getElementById("menu-button").addEventListener("click", () => {
    const menu = document.getElementById("command-menu");
    menu.hidden = !menu.hidden;
  });
  document.getElementById("language").addEventListener("change", (e) => act("language", { language: e.target.value }));
  document.getElementById("block").addEventListener("click", () => act(person().blocked ? "restart" : "stop"));
  document.getElementById("alert-ok").addEventListener("click", () => { document.getElementById("alert").hidden = true; });
  for (const box of document.querySelectorAll("[data-outage]")) {
    box.addEventListener("change", () => post("/api/panel/outage", { outage: box.dataset.outage, on: box.checked }).catch((e) => toast(e.message)));
  }
  connect();
});
