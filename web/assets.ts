/**
 * The browser page's files, kept in the program itself so that `deno compile` carries them: no
 * CDN and no build step at run time. Each path the web front end serves maps to its content type
 * and bytes. This is the minimal honest page (a nick field, the raw frames in a log, a message
 * box); the full page replaces it without changing how it is served.
 *
 * @module
 */

/** One file of the page. */
export interface WebAsset {
  /** The `Content-Type` it is served with. */
  type: string;
  /** Its bytes. */
  body: Uint8Array<ArrayBuffer>;
}

const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sockchat</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/style.css">
<script src="/app.js" defer></script>
</head>
<body>
<main>
<h1>sockchat</h1>
<form id="join">
<label for="nick">Nickname</label>
<input id="nick" name="nick" autocomplete="nickname" maxlength="32" required autofocus>
<button type="submit">Join</button>
</form>
<p id="status" role="status"></p>
<ul id="log" role="log" aria-live="polite" aria-label="messages"></ul>
<form id="say" hidden>
<label for="message">message</label>
<textarea id="message" name="message" rows="2"></textarea>
</form>
</main>
</body>
</html>
`;

// Plain DOM text only: frames are shown with textContent, never as markup.
const APP_JS = `"use strict";
const join = document.getElementById("join");
const nick = document.getElementById("nick");
const say = document.getElementById("say");
const message = document.getElementById("message");
const log = document.getElementById("log");
const status = document.getElementById("status");
let socket = null;

function show(text) {
  const item = document.createElement("li");
  item.textContent = text;
  log.append(item);
  item.scrollIntoView({ block: "end" });
}

function connect(name) {
  const url = new URL("/ws", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  socket = new WebSocket(url);
  status.textContent = "Connecting...";
  socket.addEventListener("open", () => {
    status.textContent = "Connected as " + name + ".";
    socket.send(JSON.stringify({ type: "hello", v: 1, nick: name }));
  });
  socket.addEventListener("message", (event) => {
    show(String(event.data));
    try {
      const frame = JSON.parse(String(event.data));
      if (frame.type === "ping") socket.send(JSON.stringify({ type: "pong", token: frame.token }));
    } catch {
      // Shown as received.
    }
  });
  socket.addEventListener("close", () => {
    status.textContent = "Disconnected.";
  });
}

join.addEventListener("submit", (event) => {
  event.preventDefault();
  const name = nick.value.trim();
  if (name === "") return;
  join.hidden = true;
  say.hidden = false;
  message.focus();
  connect(name);
});

message.addEventListener("keydown", (event) => {
  if (event.key !== "Enter" || event.shiftKey) return;
  event.preventDefault();
  const text = message.value;
  if (text === "" || socket === null || socket.readyState !== WebSocket.OPEN) return;
  socket.send(JSON.stringify({ type: "msg", room: "#lobby", text }));
  message.value = "";
});
`;

const STYLE_CSS = `:root { color-scheme: light dark; font-family: system-ui, sans-serif; }
main { max-width: 60rem; margin: 0 auto; padding: 0.5rem; }
#log { list-style: none; padding: 0; font-family: ui-monospace, monospace; white-space: pre-wrap;
  overflow-wrap: anywhere; }
#message { width: 100%; box-sizing: border-box; }
`;

const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">
<rect width="16" height="16" rx="3" fill="#2b6cb0"/>
<path d="M4 5h8v5H7l-3 2z" fill="#fff"/>
</svg>
`;

function asset(type: string, text: string): WebAsset {
  return { type, body: new TextEncoder().encode(text) };
}

const FAVICON = asset("image/svg+xml", FAVICON_SVG);

/** Every file of the page, by the path it is served at. */
export const WEB_ASSETS: ReadonlyMap<string, WebAsset> = new Map([
  ["/", asset("text/html; charset=utf-8", INDEX_HTML)],
  ["/app.js", asset("text/javascript; charset=utf-8", APP_JS)],
  ["/style.css", asset("text/css; charset=utf-8", STYLE_CSS)],
  ["/favicon.svg", FAVICON],
  // Browsers ask for this path on their own; the same icon serves it.
  ["/favicon.ico", FAVICON],
]);
