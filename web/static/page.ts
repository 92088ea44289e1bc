/**
 * The page's markup, style sheet and icon, as plain text: `web/assets.ts` serves them as they
 * are. They live in a module rather than as .html, .css and .svg files because `deno doc --lint`
 * over `web/` would try to parse such files as scripts. The page's script is
 * `web/static/app.js`, a real file so that `deno lint` and `deno fmt` see it.
 *
 * @module
 */

/**
 * The page: a nick form (with password fields shown when the server asks for one), then the
 * conversation list, the message log (`role="log"`, a live region) and the box labelled
 * "message". No inline script or style: the CSP allows only this origin's files.
 */
export const INDEX_HTML = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="color-scheme" content="light dark">
    <title>sockchat</title>
    <link rel="icon" href="/favicon.svg" type="image/svg+xml">
    <link rel="stylesheet" href="/style.css">
    <script src="/app.js" defer></script>
  </head>
  <body>
    <p id="status" role="status" aria-live="polite" hidden></p>
    <main id="login-view">
      <h1>sockchat</h1>
      <p id="script-missing">The page's script did not load, so Join cannot work: the server may
        be refusing too many connections from your address. Reload in a few seconds.</p>
      <form id="join">
        <p id="login-error" role="alert"></p>
        <label for="nick">Nickname</label>
        <input id="nick" name="nick" type="text" autocomplete="nickname" maxlength="32" required
          autofocus>
        <div id="server-password-row" hidden>
          <label for="server-password">Server password</label>
          <input id="server-password" name="server-password" type="password"
            autocomplete="current-password">
        </div>
        <div id="account-password-row" hidden>
          <label for="account-password">Password for this nickname</label>
          <input id="account-password" name="account-password" type="password"
            autocomplete="current-password">
        </div>
        <button type="submit">Join</button>
      </form>
    </main>
    <div id="chat-view" hidden>
      <nav id="rooms" aria-label="Conversations">
        <ul id="room-list"></ul>
        <form id="join-room">
          <label for="join-room-name" class="visually-hidden">Join a room</label>
          <input id="join-room-name" type="text" placeholder="#room" maxlength="33">
          <button type="submit">Join</button>
        </form>
        <button id="notify" type="button" hidden>Enable notifications</button>
      </nav>
      <section id="conversation" aria-labelledby="room-title">
        <header id="room-header">
          <h2 id="room-title"></h2>
          <p id="room-topic"></p>
          <button id="members-toggle" type="button" aria-controls="members"
            aria-expanded="false">Members</button>
          <button id="leave" type="button">Leave</button>
        </header>
        <div id="log" role="log" aria-live="polite" aria-label="messages" tabindex="0"></div>
        <form id="say">
          <label for="message" class="visually-hidden">message</label>
          <textarea id="message" name="message" rows="2" aria-label="message"
            placeholder="Message (Enter sends, Shift+Enter for a new line, /help for commands)"></textarea>
        </form>
      </section>
      <aside id="members" aria-label="Members">
        <h3 id="members-title">Members</h3>
        <ul id="member-list"></ul>
      </aside>
    </div>
  </body>
</html>
`;

/** Light and dark through prefers-color-scheme; one column under 700 px, usable at 360 px. */
export const STYLE_CSS = `:root {
  color-scheme: light dark;
  font-family: system-ui, sans-serif;
  --bg: #ffffff;
  --fg: #1a1a1a;
  --muted: #5f6368;
  --panel: #f1f3f4;
  --accent: #2b6cb0;
  --mention: #fff3bf;
  --error: #b00020;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #16181c;
    --fg: #e8eaed;
    --muted: #9aa0a6;
    --panel: #202329;
    --accent: #79b0ec;
    --mention: #4a3f10;
    --error: #ff8a80;
  }
}
* {
  box-sizing: border-box;
}
html,
body {
  height: 100%;
  margin: 0;
  background: var(--bg);
  color: var(--fg);
}
/* A column: the status bar takes the lines its sentence needs (a refusal or a kick may take
   several at 360 px) and the chat view the rest, so the message box stays on the screen. */
body {
  display: flex;
  flex-direction: column;
  height: 100vh;
  height: 100dvh;
}
button,
input,
textarea {
  font: inherit;
  color: inherit;
}
input,
textarea {
  background: var(--bg);
  border: 1px solid var(--muted);
  border-radius: 4px;
  padding: 0.3rem;
}
button {
  background: var(--panel);
  border: 1px solid var(--muted);
  border-radius: 4px;
  padding: 0.3rem 0.6rem;
  cursor: pointer;
}
:focus-visible {
  outline: 2px solid var(--accent);
  outline-offset: 1px;
}
.visually-hidden {
  position: absolute;
  width: 1px;
  height: 1px;
  overflow: hidden;
  clip-path: inset(50%);
  white-space: nowrap;
}
[hidden] {
  display: none !important;
}

#status {
  margin: 0;
  padding: 0.4rem 0.8rem;
  background: var(--error);
  color: #fff;
}
#login-view {
  width: 100%;
  max-width: 24rem;
  margin: 3rem auto;
  padding: 0 1rem;
}
#join {
  display: flex;
  flex-direction: column;
  gap: 0.4rem;
}
#join > div {
  display: flex;
  flex-direction: column;
  gap: 0.4rem;
}
/* Removed by app.js as it starts; shown only if it never does (a 429 on /app.js), after a
   delay so that a slow load does not flash it. Unstyled (no style sheet either), it shows at once. */
#script-missing {
  color: var(--error);
  animation: script-missing 0s 3s both;
}
@keyframes script-missing {
  from {
    visibility: hidden;
  }
  to {
    visibility: visible;
  }
}
#login-error {
  color: var(--error);
  margin: 0;
  min-height: 1em;
}

#chat-view {
  display: grid;
  grid-template-columns: 13rem 1fr 12rem;
  flex: 1;
  min-height: 0;
}
#rooms,
#members {
  background: var(--panel);
  overflow-y: auto;
  padding: 0.5rem;
}
#room-list,
#member-list {
  list-style: none;
  margin: 0;
  padding: 0;
}
#room-list button {
  width: 100%;
  display: flex;
  justify-content: space-between;
  gap: 0.3rem;
  text-align: start;
  border: none;
  background: none;
  padding: 0.3rem;
}
#room-list .name {
  min-width: 0;
  overflow: hidden;
  text-overflow: ellipsis;
  white-space: nowrap;
}
#room-list button[aria-current="true"] {
  background: var(--bg);
  font-weight: bold;
}
.unread {
  background: var(--accent);
  color: var(--bg);
  border-radius: 0.6rem;
  padding: 0 0.4rem;
  font-size: 0.8rem;
}
.mentioned {
  background: var(--error);
}
#join-room {
  display: flex;
  gap: 0.3rem;
  margin: 0.5rem 0;
}
#join-room input {
  min-width: 0;
  flex: 1;
}
#conversation {
  display: flex;
  flex-direction: column;
  min-width: 0;
  min-height: 0;
}
#room-header {
  display: flex;
  flex-wrap: wrap;
  align-items: baseline;
  gap: 0.5rem;
  padding: 0.4rem 0.6rem;
  border-bottom: 1px solid var(--panel);
}
#room-header h2 {
  font-size: 1.1rem;
  margin: 0;
  min-width: 0;
  max-width: 100%;
  overflow: hidden;
  text-overflow: ellipsis;
  white-space: nowrap;
}
#room-topic {
  margin: 0;
  color: var(--muted);
  flex: 1;
  overflow-wrap: anywhere;
  white-space: pre-wrap;
}
#members-toggle {
  display: none;
}
#log {
  flex: 1;
  overflow-y: auto;
  padding: 0.4rem 0.6rem;
  overflow-wrap: anywhere;
  display: flex;
  flex-direction: column;
}
/* A short conversation sits at the bottom, next to the message box, as in other chat apps;
   an auto margin (not justify-content) keeps a long one scrollable to its top. */
#log > ol:not([hidden]) {
  margin-top: auto;
}
#log ol {
  list-style: none;
  margin: 0;
  padding: 0;
}
/* Continuation lines of a multi-line or wrapped message start after the time, not under it. */
.line {
  padding: 0.1rem 0 0.1rem 3rem;
  text-indent: -3rem;
  white-space: pre-wrap;
}
.line time {
  color: var(--muted);
  font-size: 0.8rem;
  margin-inline-end: 0.4rem;
  font-variant-numeric: tabular-nums;
}
.line .from {
  font-weight: bold;
  margin-inline-end: 0.4rem;
}
.line.action .text {
  font-style: italic;
}
.line.notice {
  color: var(--muted);
}
.line.error {
  color: var(--error);
}
/* An info padded into columns (/help): monospace, so the columns line up. */
.line.block .text {
  display: block;
  font-family: ui-monospace, monospace;
  font-size: 0.9rem;
  text-indent: 0;
}
.line.mention {
  background: var(--mention);
}
.line.pending {
  opacity: 0.6;
}
.line.unsent .state {
  color: var(--error);
}
.state {
  font-size: 0.8rem;
  margin-inline-start: 0.4rem;
}
.day {
  text-align: center;
  color: var(--muted);
  font-size: 0.8rem;
  margin: 0.5rem 0;
  border-bottom: 1px solid var(--panel);
}
.more {
  text-align: center;
  color: var(--muted);
  font-size: 0.8rem;
}
#say {
  padding: 0.4rem 0.6rem;
}
#message {
  width: 100%;
  resize: vertical;
  min-height: 2.6rem;
}
#member-list li {
  padding: 0.1rem 0;
  overflow-wrap: anywhere;
}
#members h3 {
  font-size: 0.9rem;
  margin: 0 0 0.3rem;
}

/* Nick colours keep clear of the error red's hue, so no nick reads as an error. */
.c0 {
  color: #5e35b1;
}
.c1 {
  color: #1e7f4f;
}
.c2 {
  color: #1f5fbf;
}
.c3 {
  color: #8e44ad;
}
.c4 {
  color: #b35900;
}
.c5 {
  color: #00796b;
}
.c6 {
  color: #0a6e8a;
}
.c7 {
  color: #5d6d00;
}
@media (prefers-color-scheme: dark) {
  .c0 {
    color: #b39ddb;
  }
  .c1 {
    color: #69db9a;
  }
  .c2 {
    color: #82b1ff;
  }
  .c3 {
    color: #d7a6f0;
  }
  .c4 {
    color: #ffb74d;
  }
  .c5 {
    color: #4dd0c4;
  }
  .c6 {
    color: #4fc3f7;
  }
  .c7 {
    color: #d4e157;
  }
}

@media (max-width: 700px) {
  /* minmax(0, …): a long room name or topic is cut (ellipsis), not a page wider than the screen. */
  #chat-view {
    grid-template-columns: minmax(0, 1fr);
    grid-template-rows: auto auto minmax(0, 1fr);
  }
  #rooms {
    grid-row: 1;
  }
  #conversation {
    grid-row: 3;
  }
  #rooms {
    display: flex;
    flex-wrap: wrap;
    gap: 0.3rem;
    align-items: center;
    padding: 0.3rem;
  }
  #room-list {
    display: flex;
    gap: 0.2rem;
    overflow-x: auto;
    max-width: 100%;
    min-width: 0;
  }
  #room-list li {
    min-width: 0;
  }
  #room-list button {
    width: auto;
    max-width: 12rem;
    white-space: nowrap;
  }
  #join-room {
    margin: 0;
  }
  #members-toggle {
    display: inline-block;
  }
  /* The topic gets a row of its own under the title and buttons, not a narrow column. */
  #room-header h2 {
    flex: 1 1 0;
  }
  #room-topic {
    order: 1;
    flex-basis: 100%;
    font-size: 0.9rem;
  }
  #members {
    display: none;
  }
  /* Open, the list is a row of its own between the conversations and the log: inside the
     screen, over nothing. */
  #members.open {
    display: block;
    grid-row: 2;
    max-height: 35vh;
    border-block: 1px solid var(--muted);
  }
}
`;

/** The favicon, served at /favicon.svg and /favicon.ico. */
export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">
  <rect width="16" height="16" rx="3" fill="#2b6cb0" />
  <path d="M4 5h8v5H7l-3 2z" fill="#fff" />
</svg>
`;
