import assert from "node:assert/strict";
import { WEB_ASSETS } from "../web/assets.ts";
import { APP_JS_FILE, ASSETS_FILE, renderWebAssets } from "../scripts/web_assets.ts";

const ROOT = new URL("../", import.meta.url);

function served(path: string): string {
  const asset = WEB_ASSETS.get(path);
  assert.ok(asset, `${path} is served`);
  return new TextDecoder().decode(asset.body);
}

Deno.test("web/assets.ts is what scripts/web_assets.ts makes of web/static/ (run it after editing the page)", async () => {
  const current = await Deno.readTextFile(new URL(ASSETS_FILE, ROOT));
  assert.ok(current === await renderWebAssets(), `${ASSETS_FILE} is out of date`);
  assert.equal(served("/app.js"), await Deno.readTextFile(new URL(APP_JS_FILE, ROOT)));
});

Deno.test("the served app.js parses as a classic script and never turns text into markup or code", () => {
  const script = served("/app.js");
  // Compiling without calling it checks the syntax; the page's CSP forbids this, a test may.
  assert.doesNotThrow(() => new Function(script));
  for (
    const sink of [
      /\.innerHTML\b/,
      /\.outerHTML\b/,
      /insertAdjacentHTML/,
      /document\.write/,
      /\beval\(/,
      /new Function/,
      /setTimeout\(\s*["'`]/,
      /\.setAttribute\(\s*["']on/,
      /\.setAttribute\(\s*["']style/,
    ]
  ) {
    assert.doesNotMatch(script, sink);
  }
  // Links are built for http(s) only, and open without handing the page to the target.
  assert.match(script, /parsed\.protocol === "http:" \|\| parsed\.protocol === "https:"/);
  assert.match(script, /rel = "noopener noreferrer"/);
});

Deno.test("the page has the hooks scripts and assistive tech rely on, and no inline script or style", () => {
  const html = served("/");
  assert.match(html, /<input id="nick" name="nick" type="text"/);
  assert.match(html, /<label for="message"[^>]*>message<\/label>/);
  assert.match(html, /<textarea id="message"/);
  assert.match(html, /id="log" role="log" aria-live="polite"/);
  assert.match(html, /<script src="\/app\.js" defer><\/script>/);
  assert.doesNotMatch(html, /<script(?![^>]*\ssrc=)[^>]*>/);
  assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i);
  const css = served("/style.css");
  assert.match(css, /prefers-color-scheme: dark/);
  assert.match(css, /@media \(max-width: 700px\)/);
  assert.match(served("/favicon.ico"), /^<svg /);
});

// A DOM just big enough for app.js, so its protocol handling runs without a browser: the page's
// own script, fed frames through a stand-in WebSocket, with timers that only run when told.

type Child = FakeElement | { text: string };

class FakeElement {
  children: Child[] = [];
  parentElement: FakeElement | null = null;
  attributes = new Map<string, string>();
  dataset: Record<string, string> = {};
  hidden = false;
  value = "";
  selectionStart = 0;
  selectionEnd = 0;
  scrollTop = 0;
  scrollHeight = 0;
  clientHeight = 0;
  className = "";
  listeners = new Map<string, ((event: Record<string, unknown>) => void)[]>();
  [key: string]: unknown;
  constructor(readonly tagName: string, readonly id = "") {}
  get classList() {
    const names = () => new Set(this.className.split(" ").filter((n) => n !== ""));
    const set = (all: Set<string>) => (this.className = [...all].join(" "));
    return {
      add: (n: string) => set(names().add(n)),
      remove: (n: string) => {
        const all = names();
        all.delete(n);
        set(all);
      },
      contains: (n: string) => names().has(n),
      toggle: (n: string) => {
        const all = names();
        const on = !all.has(n);
        if (on) all.add(n);
        else all.delete(n);
        set(all);
        return on;
      },
    };
  }
  get textContent(): string {
    return this.children.map((c) => c instanceof FakeElement ? c.textContent : c.text).join("");
  }
  set textContent(text: string) {
    this.children = text === "" ? [] : [{ text }];
  }
  get elements(): FakeElement[] {
    return this.children.filter((c): c is FakeElement => c instanceof FakeElement);
  }
  get firstElementChild() {
    return this.elements[0] ?? null;
  }
  get childElementCount() {
    return this.elements.length;
  }
  #adopt(nodes: (Child | string)[]): Child[] {
    return nodes.flatMap((node) => {
      if (typeof node === "string") return [{ text: node }];
      if (node instanceof FakeElement && node.tagName === "#fragment") {
        const inner = node.children;
        node.children = [];
        return this.#adopt(inner);
      }
      if (node instanceof FakeElement) {
        node.remove();
        node.parentElement = this;
      }
      return [node];
    });
  }
  append(...nodes: (Child | string)[]) {
    this.children.push(...this.#adopt(nodes));
  }
  prepend(...nodes: (Child | string)[]) {
    this.children.unshift(...this.#adopt(nodes));
  }
  replaceChildren(...nodes: (Child | string)[]) {
    this.children = this.#adopt(nodes);
  }
  remove() {
    const parent = this.parentElement;
    if (parent !== null) parent.children = parent.children.filter((c) => c !== this);
    this.parentElement = null;
  }
  replaceWith(node: FakeElement) {
    const parent = this.parentElement;
    if (parent === null) return;
    const at = parent.children.indexOf(this);
    node.parentElement = parent;
    parent.children[at] = node;
    this.parentElement = null;
  }
  setAttribute(name: string, value: string) {
    this.attributes.set(name, value);
  }
  addEventListener(type: string, listener: (event: Record<string, unknown>) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  dispatch(type: string, event: Record<string, unknown> = {}) {
    for (const listener of this.listeners.get(type) ?? []) {
      listener({ preventDefault() {}, ...event });
    }
  }
  focus() {
    focused = this;
  }
  setSelectionRange(start: number, end: number) {
    this.selectionStart = start;
    this.selectionEnd = end;
  }
  querySelector(selector: string): FakeElement | null {
    for (const child of this.elements) {
      const hit = selector.startsWith(".")
        ? child.classList.contains(selector.slice(1))
        : child.tagName === selector;
      if (hit) return child;
      const deeper = child.querySelector(selector);
      if (deeper !== null) return deeper;
    }
    return null;
  }
  /** Every element below, depth first. */
  all(): FakeElement[] {
    return this.elements.flatMap((child) => [child, ...child.all()]);
  }
}

let focused: FakeElement | null = null;

class FakeSocket {
  static readonly OPEN = 1;
  static last: FakeSocket | null = null;
  readyState = 0;
  sent: Record<string, unknown>[] = [];
  listeners = new Map<string, ((event: { data?: string }) => void)[]>();
  constructor(readonly url: URL) {
    FakeSocket.last = this;
  }
  addEventListener(type: string, listener: (event: { data?: string }) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.fire("close");
  }
  fire(type: string, data?: Record<string, unknown>) {
    if (type === "open") this.readyState = 1;
    if (type === "close") this.readyState = 3;
    for (const l of this.listeners.get(type) ?? []) {
      l(data === undefined ? {} : { data: JSON.stringify(data) });
    }
  }
}

function loadPage(storedNick: string | null) {
  FakeSocket.last = null;
  const ids = [
    "status",
    "login-view",
    "join",
    "login-error",
    "nick",
    "server-password-row",
    "server-password",
    "account-password-row",
    "account-password",
    "chat-view",
    "room-list",
    "join-room",
    "join-room-name",
    "notify",
    "room-title",
    "room-topic",
    "members-toggle",
    "leave",
    "log",
    "say",
    "message",
    "members",
    "members-title",
    "member-list",
  ];
  const byId = new Map(ids.map((id) => [id, new FakeElement("div", id)]));
  const storage = () => {
    const data = new Map<string, string>();
    return {
      getItem: (k: string) => data.get(k) ?? null,
      setItem: (k: string, v: string) => void data.set(k, v),
      removeItem: (k: string) => void data.delete(k),
    };
  };
  const local = storage();
  if (storedNick !== null) local.setItem("sockchat.nick", storedNick);
  const timers: { fn: () => void; ms: number }[] = [];
  const document = {
    title: "sockchat",
    hidden: false,
    getElementById: (id: string) => byId.get(id) ?? null,
    createElement: (tag: string) => new FakeElement(tag),
    createDocumentFragment: () => new FakeElement("#fragment"),
    addEventListener() {},
  };
  const globals = {
    document,
    localStorage: local,
    sessionStorage: storage(),
    location: { href: "http://chat.test/", protocol: "http:" },
    WebSocket: FakeSocket,
    HTMLElement: FakeElement,
    setTimeout: (fn: () => void, ms: number) => timers.push({ fn, ms }),
    clearTimeout: () => {},
  };
  new Function(...Object.keys(globals), served("/app.js"))(...Object.values(globals));
  const el = (id: string) => byId.get(id) as FakeElement;
  const visibleLines = () =>
    el("log").elements.filter((list) => !list.hidden).flatMap((list) => list.elements)
      .filter((item) => item.classList.contains("line")).map((item) => item.textContent);
  const type = (text: string) => {
    el("message").value = text;
    el("message").dispatch("keydown", { key: "Enter", shiftKey: false });
  };
  return { el, local, timers, document, visibleLines, type };
}

const TS = Date.UTC(2026, 0, 2, 12);

Deno.test("app.js: first visit asks the nick, then says hello, lands in #lobby with the message box focused, and shows text as text", () => {
  const page = loadPage(null);
  assert.equal(page.el("login-view").hidden, false);
  assert.equal(FakeSocket.last, null);
  page.el("nick").value = "ann";
  page.el("join").dispatch("submit");
  assert.equal(page.local.getItem("sockchat.nick"), null, "remembered only once welcomed");
  const ws = FakeSocket.last as unknown as FakeSocket;
  ws.fire("open");
  assert.deepEqual(ws.sent[0], { type: "hello", v: 1, nick: "ann" });
  ws.fire("message", {
    type: "welcome",
    v: 1,
    nick: "ann",
    rooms: [{ room: "#lobby", topic: "hi", members: ["bob", "ann"], count: 2 }],
  });
  assert.equal(focused, page.el("message"));
  assert.equal(page.local.getItem("sockchat.nick"), "ann");
  assert.equal(page.el("room-title").textContent, "#lobby");
  const hostile = "<img src=x onerror=alert(1)> see https://example.org/a. javascript:alert(1)";
  ws.fire("message", { type: "msg", id: 5, room: "#lobby", from: "bob", text: hostile, ts: TS });
  const line = page.el("log").all().find((e) => e.dataset.id === "5") as FakeElement;
  assert.match(
    line.textContent,
    /bob<img src=x onerror=alert\(1\)> see https:\/\/example\.org\/a\./,
  );
  const links = line.all().filter((e) => e.tagName === "a");
  assert.equal(links.length, 1, "only the http(s) URL is a link");
  assert.equal(links[0].href, "https://example.org/a");
  assert.equal(links[0].rel, "noopener noreferrer");
  assert.ok(line.all().some((e) => e.tagName === "img") === false);
  page.type("hello\nsecond line");
  assert.deepEqual(ws.sent.at(-1), {
    type: "msg",
    room: "#lobby",
    text: "hello\nsecond line",
    ref: ws.sent.at(-1)?.ref,
  });
  page.type("/who");
  assert.equal(ws.sent.at(-1)?.type, "cmd");
  assert.equal(ws.sent.at(-1)?.line, "/who");
});

Deno.test("app.js: after a drop it retries within 5 s and resumes every room from the last id seen; offline lines go out after the welcome", () => {
  const page = loadPage("ann");
  let ws = FakeSocket.last as unknown as FakeSocket;
  ws.fire("open");
  ws.fire("message", {
    type: "welcome",
    v: 1,
    nick: "ann",
    rooms: [{ room: "#lobby", topic: "", members: ["ann"], count: 1 }],
  });
  ws.fire("message", { type: "msg", id: 7, room: "#lobby", from: "bob", text: "a", ts: TS });
  ws.fire("message", { type: "joined", room: "#rust", topic: "", members: ["ann"], count: 1 });
  ws.fire("message", { type: "msg", id: 9, room: "#rust", from: "bob", text: "b", ts: TS });
  ws.fire("close");
  assert.equal(page.timers.length, 1);
  assert.ok(page.timers[0].ms <= 5000, `first retry after ${page.timers[0].ms} ms`);
  page.type("typed offline");
  assert.ok(page.visibleLines().some((l) => l.includes("typed offline")));
  page.timers[0].fn();
  ws = FakeSocket.last as unknown as FakeSocket;
  ws.fire("open");
  assert.deepEqual(ws.sent[0], {
    type: "hello",
    v: 1,
    nick: "ann",
    resume: { "#lobby": 7, "#rust": 9 },
  });
  ws.fire("message", {
    type: "welcome",
    v: 1,
    nick: "ann",
    rooms: [{ room: "#lobby", members: ["ann"] }, { room: "#rust", members: ["ann"] }],
  });
  assert.equal(ws.sent[1].type, "msg");
  assert.equal(ws.sent[1].text, "typed offline");
  assert.equal(ws.sent[1].room, "#rust");
  // A replayed message already shown is not shown twice.
  ws.fire("message", { type: "msg", id: 9, room: "#rust", from: "bob", text: "b", ts: TS });
  assert.equal(page.visibleLines().filter((l) => l.endsWith("bob" + "b")).length, 1);
});

Deno.test("app.js: scrolling up asks /history 50 before the oldest id and puts the page above, in order", () => {
  const page = loadPage("ann");
  const ws = FakeSocket.last as unknown as FakeSocket;
  ws.fire("open");
  ws.fire("message", { type: "welcome", v: 1, nick: "ann", rooms: [{ room: "#lobby" }] });
  ws.fire("message", {
    type: "msg",
    id: 40,
    room: "#lobby",
    from: "bob",
    text: "newest",
    ts: TS,
    history: true,
  });
  page.el("log").dispatch("wheel", { deltaY: -10 });
  const ask = ws.sent.at(-1) as Record<string, unknown>;
  assert.equal(ask.line, "/history 50 before 40");
  assert.equal(ask.room, "#lobby");
  for (const id of [20, 30]) {
    ws.fire("message", {
      type: "msg",
      id,
      room: "#lobby",
      from: "bob",
      text: `old ${id}`,
      ts: TS,
      history: true,
    });
  }
  ws.fire("message", {
    type: "info",
    room: "#lobby",
    text: "* History",
    more: true,
    before: 20,
    ref: ask.ref,
  });
  assert.deepEqual(page.visibleLines().map((l) => l.replace(/^.*bob/, "")), [
    "old 20",
    "old 30",
    "newest",
  ]);
  page.el("log").dispatch("wheel", { deltaY: -10 });
  assert.equal(ws.sent.at(-1)?.line, "/history 50 before 20");
});

Deno.test("app.js: DMs are their own conversations, counted unread; Tab completes nicks, rooms and commands; Up recalls the last line", () => {
  const page = loadPage("ann");
  const ws = FakeSocket.last as unknown as FakeSocket;
  ws.fire("open");
  ws.fire("message", {
    type: "welcome",
    v: 1,
    nick: "ann",
    rooms: [{ room: "#lobby", members: ["bobby", "carol", "ann"] }],
  });
  ws.fire("message", { type: "dm", id: 3, from: "bobby", to: "ann", text: "psst", ts: TS });
  const rooms = () => page.el("room-list").all().filter((e) => e.tagName === "button");
  const dm = rooms().find((b) => b.textContent.startsWith("@bobby")) as FakeElement;
  assert.match(dm.attributes.get("aria-label") ?? "", /@bobby, 1 unread, mentioned/);
  dm.dispatch("click");
  assert.equal(page.el("room-title").textContent, "Direct messages with bobby");
  page.type("hi there");
  assert.equal(ws.sent.at(-1)?.line, "/msg bobby hi there");
  const box = page.el("message");
  const tab = () => box.dispatch("keydown", { key: "Tab" });
  rooms().find((b) => b.textContent === "#lobby")?.dispatch("click");
  box.value = "bo";
  box.setSelectionRange(2, 2);
  tab();
  assert.equal(box.value, "bobby: ");
  box.value = "/jo";
  box.setSelectionRange(3, 3);
  tab();
  assert.equal(box.value, "/join ");
  box.value = "/join #lo";
  box.setSelectionRange(9, 9);
  tab();
  assert.equal(box.value, "/join #lobby ");
  box.value = "";
  box.setSelectionRange(0, 0);
  box.dispatch("keydown", { key: "ArrowUp" });
  assert.equal(box.value, "hi there");
});
