// The simulated Crypto Pay's pay page: one invoice, an asset to pay it with. Every text is the
// bot's or the simulator's and goes into the DOM as text (textContent), never as markup.
"use strict";

const invoiceHash = decodeURIComponent(location.pathname.split("/").pop());
const api = "/api/cryptopay/" + encodeURIComponent(invoiceHash);

function show(invoice) {
  document.getElementById("description").textContent = invoice.description;
  document.getElementById("amount").textContent = `${invoice.amount} ${invoice.fiat}`;
  const assets = document.getElementById("assets");
  const outcome = document.getElementById("outcome");
  const active = invoice.status === "active";
  document.getElementById("choose").hidden = !active;
  assets.replaceChildren(...(active ? invoice.assets : []).map((asset) => {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.asset = asset;
    button.textContent = "Pay in " + asset;
    button.addEventListener("click", () => pay(asset));
    return button;
  }));
  if (invoice.status === "paid") outcome.textContent = `Paid in ${invoice.paid_asset}.`;
  else if (!active) outcome.textContent = `This invoice is ${invoice.status}.`;
  else outcome.textContent = "";
  document.body.dataset.ready = "1";
}

async function call(method, body) {
  const options = { method, headers: { "Content-Type": "application/json" } };
  if (body) options.body = JSON.stringify(body);
  const response = await fetch(api + (body ? "/pay" : ""), options);
  const answer = await response.json().catch(() => ({ ok: false, error: "no answer" }));
  if (!answer.ok) throw new Error(answer.error || "refused");
  return answer.invoice;
}

async function pay(asset) {
  for (const button of document.querySelectorAll("#assets button")) button.disabled = true;
  try {
    show(await call("POST", { asset }));
  } catch (error) {
    show(await call("GET"));
    document.getElementById("outcome").textContent = error.message;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  call("GET").then(show, (error) => { document.getElementById("outcome").textContent = error.message; });
});
