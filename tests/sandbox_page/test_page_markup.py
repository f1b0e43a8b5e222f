"""Telegram's HTML as the node tree the page draws: text stays text, links only to the web."""

from __future__ import annotations

from bot.sandbox.web.markup import to_nodes


def test_formatting_becomes_nodes_and_entities_become_text() -> None:
    nodes = to_nodes("<b>Order</b> &lt;i&gt; <i>x</i> <code>1 &amp; 2</code>", "HTML")
    assert nodes == [
        {"tag": "b", "children": ["Order"]},
        " <i> ",
        {"tag": "i", "children": ["x"]},
        " ",
        {"tag": "code", "children": ["1 & 2"]},
    ]


def test_links_keep_web_addresses_only() -> None:
    nodes = to_nodes('<a href="https://t.me/x">ok</a><a href="javascript:alert(1)">no</a>', "HTML")
    assert nodes == [
        {"tag": "a", "children": ["ok"], "href": "https://t.me/x"},
        {"tag": "a", "children": ["no"]},
    ]


def test_spoilers_and_synonyms() -> None:
    nodes = to_nodes('<span class="tg-spoiler">a</span><strong>b</strong><del>c</del>', "html")
    assert [node["tag"] for node in nodes if isinstance(node, dict)] == ["spoiler", "b", "s"]


def test_text_without_html_parse_mode_is_one_string() -> None:
    assert to_nodes("<b>as typed</b>", None) == ["<b>as typed</b>"]
