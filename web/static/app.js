// sockchat's browser page: one classic script, no framework, no build step. It speaks the NDJSON
// protocol of docs/PROTOCOL.md over /ws, one frame per WebSocket text message.
//
// User text (messages, nicks, topics, server notices) only ever reaches the page through
// textContent or as the href of a link built here for http(s) URLs; nothing is parsed as markup.
"use strict";

(() => {
  /** Where the nick is remembered. Passwords are kept only for this tab (sessionStorage). */
  const NICK_KEY = "sockchat.nick";
  /** The last nick a welcome accepted in this browser: a tab refused it is likely another's. */
  const WELCOMED_KEY = "sockchat.welcomedNick";
  const SERVER_PASSWORD_KEY = "sockchat.serverPassword";
  const ACCOUNT_PASSWORD_KEY = "sockchat.accountPassword";
  /** Reconnect delays in ms: the first retry comes within about 5 s, then backs off. */
  const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000, 30000];
  /**
   * Connections in a row that never opened before the page says the server is refusing it: the
   * browser hides why (a 429 or 403 answer to /ws looks like any lost connection), and one or
   * two failures are as likely a restart or a flaky network.
   */
  const REFUSED_AFTER = 3;
  /** What the page says once REFUSED_AFTER connections in a row never opened. */
  const REFUSED_TEXT = "The server refuses this page's connection: too many connections from " +
    "your address, a ban, or an origin setting (--web-origin) that does not list this page's " +
    "address.";
  /** How many older messages one scroll-back page asks for. */
  const PAGE_SIZE = 50;
  /** Scrolling within this many pixels of the top asks for the next older page. */
  const SCROLL_BACK_PX = 80;
  /** Messages kept per conversation: older ones are dropped from the page (scroll-back fetches). */
  const MAX_LINES = 5000;
  /**
   * Messages typed while offline that wait for the connection; more are marked not sent. They all
   * go out the moment the page is back, so they must fit the server's smallest message burst (20:
   * `--rate`'s bursts are max(20, 4 × N)) with room for the quiet /who a resume may ask: past the
   * burst the server refuses each one as rate_limited, after the page said it would send it.
   */
  const MAX_OUTBOX = 15;
  /**
   * Pages of missed messages fetched one after another, without asking, to fill the hole a cut
   * resume leaves (see fillHole); past them the marker at the hole offers to load the rest, so
   * a page that was away from a busy room for days does not read thousands of lines unasked.
   */
  const MAX_HOLE_PAGES = 10;
  /** The commands Tab completes (the server's /help has the full story). */
  const COMMANDS = [
    "/join",
    "/leave",
    "/rooms",
    "/who",
    "/topic",
    "/nick",
    "/me",
    "/msg",
    "/history",
    "/ignore",
    "/unignore",
    "/away",
    "/back",
    "/whois",
    "/reply",
    "/r",
    "/users",
    "/motd",
    "/uptime",
    "/version",
    "/help",
    "/quit",
    "/oper",
    "/kick",
    "/ban",
    "/unban",
    "/bans",
    "/mute",
    "/unmute",
    "/register",
    "/identify",
    "/unregister",
  ];
  const NICK_COLOURS = 8;
  const LOBBY = "#lobby";

  const $ = (id) => {
    const node = document.getElementById(id);
    if (node === null) throw new Error(`The page lacks #${id}.`);
    return node;
  };
  const ui = {
    status: $("status"),
    loginView: $("login-view"),
    join: $("join"),
    loginError: $("login-error"),
    nick: $("nick"),
    serverPasswordRow: $("server-password-row"),
    serverPassword: $("server-password"),
    accountPasswordRow: $("account-password-row"),
    accountPassword: $("account-password"),
    chatView: $("chat-view"),
    roomList: $("room-list"),
    joinRoom: $("join-room"),
    joinRoomName: $("join-room-name"),
    notify: $("notify"),
    roomTitle: $("room-title"),
    roomTopic: $("room-topic"),
    membersToggle: $("members-toggle"),
    leave: $("leave"),
    log: $("log"),
    say: $("say"),
    message: $("message"),
    members: $("members"),
    membersTitle: $("members-title"),
    memberList: $("member-list"),
  };

  const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
  const dayFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "full" });

  /**
   * One conversation: a room, or the direct messages with one nick (key "@nick").
   * @typedef {{ key: string, name: string, kind: "room" | "dm", list: HTMLOListElement,
   *   ids: Set<number>, lastId: number, oldestId: number, more: boolean, loading: boolean,
   *   page: object[], unread: number, mentioned: boolean, topic: string, members: string[],
   *   joined: boolean, lastDay: string, firstDay: string, membersStale: boolean,
   *   resumeFrom: number, holes: Hole[] }} Conversation
   */

  /**
   * Messages of a room missed while offline that a cut resume did not replay: those with ids
   * between `after` (the last one seen before the drop) and `before` (the first one shown after
   * it; 0 until known), shown as `marker` until they are loaded into place.
   * @typedef {{ conv: Conversation, after: number, before: number, missed: number,
   *   marker: HTMLLIElement, page: object[], loading: boolean, pages: number,
   *   interrupted: boolean }} Hole
   */

  /** @type {Map<string, Conversation>} */
  const conversations = new Map();
  let active = LOBBY;
  let me = localStorage.getItem(NICK_KEY) ?? "";
  /** @type {WebSocket | null} */
  let socket = null;
  let online = false;
  let attempt = 0;
  /** Connections in a row that closed without ever opening (see REFUSED_AFTER). */
  let unopened = 0;
  /** The server's caps from the last welcome: `maxFrame` is 0 until one arrives. */
  let limits = { maxFrame: 0 };
  let retryTimer = 0;
  let wantConnection = false;
  let nextRef = 1;
  /** Frames sent and not yet answered, by ref: what to mark when the answer comes. */
  const pending = new Map();
  /** Messages typed while offline, sent after the next welcome. */
  const outbox = [];
  let lastTyped = "";
  let missedMentions = 0;
  const baseTitle = document.title;

  // ---- conversations and rendering -------------------------------------------------------

  function conversation(key) {
    let conv = conversations.get(key);
    if (conv === undefined) {
      const list = document.createElement("ol");
      list.hidden = key !== active;
      ui.log.append(list);
      conv = {
        key,
        name: key.startsWith("@") ? key.slice(1) : key,
        kind: key.startsWith("@") ? "dm" : "room",
        list,
        ids: new Set(),
        lastId: 0,
        oldestId: 0,
        more: true,
        loading: false,
        page: [],
        unread: 0,
        mentioned: false,
        topic: "",
        members: [],
        joined: !key.startsWith("@"),
        lastDay: "",
        firstDay: "",
        membersStale: false,
        resumeFrom: 0,
        holes: [],
      };
      conversations.set(key, conv);
      renderRoomList();
    }
    return conv;
  }

  function roomKey(name) {
    return name.toLowerCase();
  }

  function dmKey(nick) {
    return "@" + nick;
  }

  function colourOf(nick) {
    let hash = 0;
    for (const ch of nick.toLowerCase()) hash = (hash * 31 + (ch.codePointAt(0) ?? 0)) >>> 0;
    return "c" + (hash % NICK_COLOURS);
  }

  function nickNode(nick) {
    const span = document.createElement("span");
    span.className = "from " + colourOf(nick);
    span.textContent = nick;
    return span;
  }

  /** Characters that end a sentence, not a URL, when they trail one. */
  const TRAILING_PUNCTUATION = ".,;:!?)]}'\"";

  /** Text with http(s) URLs turned into links; everything else stays text. */
  function richText(text) {
    const span = document.createElement("span");
    span.className = "text";
    const pattern = /https?:\/\/[^\s<>"]+/gi;
    let from = 0;
    for (const match of text.matchAll(pattern)) {
      let url = match[0];
      // Sentence punctuation after a URL is not part of it. A loop from the end, not a regex
      // such as /[.,;:!?)]+$/: V8 tries that one at every offset, so a URL followed by 60,000
      // dots and a letter took seconds outside Chromium.
      let end = url.length;
      while (end > 0 && TRAILING_PUNCTUATION.includes(url[end - 1])) end--;
      url = url.slice(0, end);
      const start = match.index ?? 0;
      let href = null;
      try {
        const parsed = new URL(url);
        if (parsed.protocol === "http:" || parsed.protocol === "https:") href = parsed.href;
      } catch {
        href = null;
      }
      if (href === null) continue;
      span.append(text.slice(from, start));
      const link = document.createElement("a");
      link.href = href;
      link.rel = "noopener noreferrer";
      link.target = "_blank";
      link.textContent = url;
      span.append(link);
      from = start + url.length;
    }
    span.append(text.slice(from));
    return span;
  }

  function dayOf(ts) {
    return dayFormat.format(new Date(ts));
  }

  function daySeparator(day) {
    const item = document.createElement("li");
    item.className = "day";
    item.setAttribute("role", "separator");
    item.textContent = day;
    item.dataset.day = day;
    return item;
  }

  function timeNode(ts) {
    const time = document.createElement("time");
    const date = new Date(ts);
    time.dateTime = date.toISOString();
    time.title = date.toLocaleString();
    time.textContent = timeFormat.format(date);
    return time;
  }

  function mentions(text) {
    if (me === "") return false;
    const lower = text.toLowerCase();
    const nick = me.toLowerCase();
    let at = lower.indexOf(nick);
    while (at !== -1) {
      const before = at === 0 ? "" : lower[at - 1];
      const after = lower[at + nick.length] ?? "";
      if (!/[\p{L}\p{N}_]/u.test(before) && !/[\p{L}\p{N}_]/u.test(after)) return true;
      at = lower.indexOf(nick, at + 1);
    }
    return false;
  }

  /**
   * A message line: time, sender's nick, text. An action shows as "* nick does".
   * @param {{ id?: number, from: string, text: string, ts: number, action?: boolean }} m
   */
  function messageLine(m) {
    const item = document.createElement("li");
    item.className = "line";
    if (m.action === true) item.classList.add("action");
    if (m.from !== me && mentions(m.text)) item.classList.add("mention");
    if (typeof m.id === "number") item.dataset.id = String(m.id);
    item.append(timeNode(m.ts));
    if (m.action === true) item.append("* ");
    item.append(nickNode(m.from), richText(m.text));
    return item;
  }

  function noticeLine(text, kind = "notice") {
    const item = document.createElement("li");
    item.className = "line " + kind;
    // Lines padded into columns (/help, /rooms) line up only in a monospace font.
    if (text.includes("\n") && /\S {2,}\S/.test(text)) item.classList.add("block");
    item.append(timeNode(Date.now()), richText(text));
    return item;
  }

  /** An error line with a button that connects again, for a goodbye the page does not undo. */
  function reconnectLine(text) {
    const item = noticeLine(text, "error");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "Reconnect";
    button.addEventListener("click", () => {
      button.disabled = true;
      attempt = 0;
      unopened = 0;
      connect();
    });
    item.append(" ", button);
    return item;
  }

  function stickToBottom(fn) {
    const atBottom = ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < 40;
    fn();
    if (atBottom) ui.log.scrollTop = ui.log.scrollHeight;
  }

  function append(conv, item, ts) {
    stickToBottom(() => {
      const day = dayOf(ts);
      if (day !== conv.lastDay) {
        conv.list.append(daySeparator(day));
        conv.lastDay = day;
        if (conv.firstDay === "") conv.firstDay = day;
      }
      conv.list.append(item);
      trimLines(conv);
    });
  }

  /**
   * Drops the oldest lines past MAX_LINES, and their ids with them: a tab left open for weeks
   * then keeps as many ids as lines, not one for every message it ever showed.
   */
  function trimLines(conv) {
    while (conv.list.childElementCount > MAX_LINES) {
      const first = conv.list.firstElementChild;
      if (first instanceof HTMLElement && first.dataset.id !== undefined) {
        conv.ids.delete(Number(first.dataset.id));
      }
      first?.remove();
      conv.more = true;
    }
  }

  function noteId(conv, id) {
    conv.ids.add(id);
    if (id > conv.lastId) conv.lastId = id;
    if (conv.oldestId === 0 || id < conv.oldestId) conv.oldestId = id;
  }

  function notice(key, text, kind = "notice") {
    const conv = conversation(key);
    const item = noticeLine(text, kind);
    append(conv, item, Date.now());
    return item;
  }

  /** An error frame's sentence; its code, for programs and the curious, as a tooltip. */
  function errorNotice(key, frame) {
    const item = notice(key, String(frame.message ?? frame.code), "error");
    item.dataset.code = String(frame.code);
    item.title = String(frame.code);
  }

  /** A message for a conversation: shown, counted unread, and maybe a mention. */
  function receive(key, m) {
    const conv = conversation(key);
    if (typeof m.id === "number") {
      // The resume's replay of this room has begun: a gap from now on is not the resume's.
      conv.resumeFrom = 0;
      placeHoles(conv, m.id);
      if (conv.ids.has(m.id)) return;
      const hole = m.history === true ? holeAround(conv, m.id) : undefined;
      if (hole !== undefined) {
        // Missed while offline: put in place, under the hole's marker, when its page ends.
        hole.page.push(m);
        conv.ids.add(m.id);
        return;
      }
      if (m.history === true && conv.oldestId !== 0 && m.id < conv.oldestId) {
        // Older than what is shown: part of a scroll-back page, put in place when it ends.
        conv.page.push(m);
        conv.ids.add(m.id);
        return;
      }
      noteId(conv, m.id);
    }
    append(conv, messageLine(m), m.ts);
    if (m.from === me || m.history === true) return;
    const mentioned = conv.kind === "dm" || mentions(m.text);
    if (key !== active || document.hidden) {
      if (key !== active) conv.unread += 1;
      if (mentioned) {
        conv.mentioned = key !== active || conv.mentioned;
        alertMention(conv, m);
      }
      renderRoomList();
    }
  }

  /** Puts a finished scroll-back page above what is shown, keeping the reader's place. */
  function flushPage(conv) {
    if (conv.page.length === 0) return;
    const page = conv.page.sort((a, b) => a.id - b.id);
    conv.page = [];
    const fragment = document.createDocumentFragment();
    let day = "";
    for (const m of page) {
      const mDay = dayOf(m.ts);
      if (mDay !== day) fragment.append(daySeparator(mDay));
      day = mDay;
      fragment.append(messageLine(m));
      noteId(conv, m.id);
    }
    const first = conv.list.firstElementChild;
    if (first instanceof HTMLElement && first.dataset.day === day) first.remove();
    const height = ui.log.scrollHeight;
    conv.list.prepend(fragment);
    conv.firstDay = page.length > 0 ? dayOf(page[0].ts) : conv.firstDay;
    if (conv.lastDay === "") conv.lastDay = day;
    ui.log.scrollTop += ui.log.scrollHeight - height;
  }

  // ---- holes left by a cut resume ----------------------------------------------------------

  /**
   * A resume replayed only the newest of the messages missed while offline (the `gap` says how
   * many it left out): scroll-back cannot reach them, since it pages back from the oldest message
   * shown, so a marker holds their place and they are asked for with `/history N before ID`
   * from the first message shown after them until the last one seen before the drop.
   */
  function openHole(conv, after, missed) {
    const marker = document.createElement("li");
    marker.className = "line notice hole";
    const hole = {
      conv,
      after,
      before: 0,
      missed,
      marker,
      page: [],
      loading: false,
      pages: 0,
      interrupted: false,
    };
    conv.holes.push(hole);
    append(conv, marker, Date.now());
    holeSays(hole, `${missed} messages missed while offline are not shown yet.`, "Load them");
  }

  /** Sets what the marker of `hole` says, with a button that loads the hole if `action`. */
  function holeSays(hole, text, action = "") {
    const body = document.createElement("span");
    body.className = "text";
    body.textContent = text;
    hole.marker.replaceChildren(timeNode(Date.now()), body);
    if (action === "") return;
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = action;
    button.addEventListener("click", () => {
      hole.pages = 0;
      fillHole(hole);
    });
    hole.marker.append(" ", button);
  }

  /**
   * Message `id` of `conv` arrived: a hole still waiting for the first message after it learns
   * where it ends (and starts filling), or, when `id` is older than the hole's start, learns
   * that its gap was a /history's, which leaves out only messages older than those shown.
   */
  function placeHoles(conv, id) {
    for (const hole of conv.holes) {
      if (hole.before !== 0 || hole.loading) continue;
      if (id > hole.after) {
        hole.before = id;
        fillHole(hole);
      } else {
        closeHole(hole);
        append(conv, scrollUpLine(hole.missed), Date.now());
        conv.more = true;
      }
    }
  }

  /**
   * Every room's resume replay has arrived: a later gap is a /history's, and a hole still waiting
   * for the first message after it had nothing replayed, so it is filled from the newest page.
   */
  function resumeOver() {
    for (const conv of conversations.values()) {
      conv.resumeFrom = 0;
      for (const hole of conv.holes) if (hole.before === 0 && !hole.loading) fillHole(hole);
    }
  }

  function scrollUpLine(missed) {
    return noticeLine(`${missed} earlier messages are not shown. Scroll up for more.`);
  }

  /** The hole of `conv` that message `id` belongs in, if any. */
  function holeAround(conv, id) {
    return conv.holes.find((hole) =>
      id > hole.after && (hole.before === 0 ? hole.loading : id < hole.before)
    );
  }

  /** Asks, quietly, for the page of `hole` just older than what it has shown. */
  function fillHole(hole) {
    const conv = hole.conv;
    if (!online || hole.loading || !conv.joined || !conversations.has(conv.key)) return;
    // Its place scrolled out of the kept lines (MAX_LINES): nowhere to put them.
    if (!hole.marker.isConnected) return closeHole(hole);
    hole.loading = true;
    hole.pages += 1;
    holeSays(hole, "Loading the messages missed while offline…");
    const r = ref();
    pending.set(r, { key: conv.key, room: conv.name, quiet: true, hole });
    // Not known yet (nothing shown after the hole): the newest page, of which what is shown
    // is skipped.
    const before = hole.before === 0 ? Number.MAX_SAFE_INTEGER : hole.before;
    send({ type: "cmd", line: `/history ${PAGE_SIZE} before ${before}`, room: conv.name, ref: r });
  }

  /** Puts what arrived for `hole` in place under its marker, in id order. */
  function flushHole(hole) {
    const page = hole.page.sort((a, b) => a.id - b.id);
    hole.page = [];
    if (page.length === 0 || !hole.marker.isConnected) return;
    keepPlace(hole.marker, () => {
      let at = hole.marker;
      for (const m of page) {
        // Past what an earlier page (newer messages) put here that is older than m.
        let next = at.nextElementSibling;
        while (next instanceof HTMLElement && next.dataset.id !== undefined) {
          if (Number(next.dataset.id) > m.id) break;
          at = next;
          next = at.nextElementSibling;
        }
        const line = messageLine(m);
        at.after(line);
        at = line;
        noteId(hole.conv, m.id);
      }
    });
  }

  /** The closing info of a page asked for `hole`: in place, then the next page or done. */
  function holeAnswered(hole, frame) {
    flushHole(hole);
    hole.loading = false;
    const before = typeof frame.before === "number" ? frame.before : 0;
    // The page reached the last message seen before the drop (ids only go up), or the start.
    if (frame.more === false || (before !== 0 && before <= hole.after + 1)) {
      closeHole(hole);
      return;
    }
    const progressed = before !== 0 && (hole.before === 0 || before < hole.before);
    if (progressed) hole.before = before;
    if (progressed && hole.pages < MAX_HOLE_PAGES) fillHole(hole);
    else holeSays(hole, "More messages missed while offline are not shown.", "Load more");
  }

  function closeHole(hole) {
    flushHole(hole);
    hole.marker.remove();
    hole.conv.holes = hole.conv.holes.filter((h) => h !== hole);
  }

  /** Runs `fn`, which adds lines at `anchor`, keeping the reader's place in the log. */
  function keepPlace(anchor, fn) {
    const atBottom = ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < 40;
    const above = anchor.getBoundingClientRect().top < ui.log.getBoundingClientRect().top;
    const height = ui.log.scrollHeight;
    fn();
    if (atBottom) ui.log.scrollTop = ui.log.scrollHeight;
    else if (above) ui.log.scrollTop += ui.log.scrollHeight - height;
  }

  function alertMention(conv, m) {
    if (!document.hidden) return;
    missedMentions += 1;
    document.title = `(${missedMentions}) ${baseTitle}`;
    if ("Notification" in globalThis && Notification.permission === "granted") {
      const note = new Notification(`${m.from} in ${conv.kind === "dm" ? "a DM" : conv.name}`, {
        body: m.text.slice(0, 200),
        tag: "sockchat-" + conv.key,
      });
      note.addEventListener("click", () => {
        globalThis.focus();
        switchTo(conv.key);
      });
    }
  }

  function renderRoomList() {
    const items = [];
    const keys = [...conversations.keys()].sort((a, b) => {
      const ka = (a.startsWith("@") ? "1" : "0") + a;
      const kb = (b.startsWith("@") ? "1" : "0") + b;
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
    for (const key of keys) {
      const conv = conversations.get(key);
      if (conv === undefined || (conv.kind === "room" && !conv.joined)) continue;
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      const label = document.createElement("span");
      label.className = "name";
      label.textContent = conv.kind === "dm" ? "@" + conv.name : conv.name;
      button.append(label);
      let description = label.textContent;
      if (conv.unread > 0) {
        const badge = document.createElement("span");
        badge.className = conv.mentioned ? "unread mentioned" : "unread";
        badge.textContent = (conv.mentioned ? "@ " : "") + String(conv.unread);
        button.append(badge);
        description += `, ${conv.unread} unread${conv.mentioned ? ", mentioned" : ""}`;
      }
      button.setAttribute("aria-label", description);
      if (key === active) button.setAttribute("aria-current", "true");
      button.addEventListener("click", () => {
        switchTo(key);
        ui.message.focus();
      });
      item.append(button);
      items.push(item);
    }
    ui.roomList.replaceChildren(...items);
  }

  function renderHeader() {
    const conv = conversations.get(active);
    ui.roomTitle.textContent = conv === undefined
      ? active
      : conv.kind === "dm"
      ? "Direct messages with " + conv.name
      : conv.name;
    ui.roomTopic.textContent = conv?.topic ?? "";
    ui.leave.textContent = conv?.kind === "dm" ? "Close" : "Leave";
    const members = conv?.kind === "room" ? conv.members : [];
    ui.membersTitle.textContent = conv?.kind === "room" ? `Members (${members.length})` : "Members";
    ui.memberList.replaceChildren(...members.map((nick) => {
      const item = document.createElement("li");
      item.append(nickNode(nick));
      return item;
    }));
  }

  function switchTo(key) {
    const conv = conversation(key);
    active = key;
    for (const other of conversations.values()) other.list.hidden = other !== conv;
    conv.unread = 0;
    conv.mentioned = false;
    renderRoomList();
    renderHeader();
    ui.log.scrollTop = ui.log.scrollHeight;
    if (conv.membersStale) askMembers(conv);
  }

  /**
   * Asks for a room's whole member list, quietly. Needed when the list kept from join and leave
   * frames is short: `joined` names at most the first 100, and a burst of arrivals comes as one
   * info naming only some of them (docs/PROTOCOL.md, Presence).
   */
  function askMembers(conv) {
    // Offline it stays stale, and is asked for when the room is next opened or resumed.
    if (conv.kind !== "room" || !online) return;
    conv.membersStale = false;
    const r = ref();
    pending.set(r, { key: conv.key, room: conv.name, quiet: true });
    send({ type: "cmd", line: `/who ${conv.name}`, room: conv.name, ref: r });
  }

  /** The room commands and messages go to: the open room, or (in a DM) the last room open. */
  let lastRoom = LOBBY;
  function currentRoom() {
    const conv = conversations.get(active);
    if (conv !== undefined && conv.kind === "room") lastRoom = conv.name;
    return lastRoom;
  }

  // ---- the connection ----------------------------------------------------------------------

  function setStatus(text) {
    ui.status.textContent = text;
    ui.status.hidden = text === "";
  }

  function send(frame) {
    if (socket === null || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(frame));
    return true;
  }

  function ref() {
    return "w" + String(nextRef++);
  }

  function connect() {
    clearTimeout(retryTimer);
    wantConnection = true;
    const url = new URL("/ws", location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    // A retry still under way (a second Join, a Reconnect) is dropped, not left to linger.
    const old = socket;
    socket = null;
    old?.close();
    const ws = new WebSocket(url);
    socket = ws;
    let opened = false;
    if (unopened < REFUSED_AFTER) setStatus(attempt === 0 ? "Connecting…" : "Reconnecting…");
    ws.addEventListener("open", () => {
      opened = true;
      unopened = 0;
      const hello = { type: "hello", v: 1, nick: me };
      const serverPassword = sessionStorage.getItem(SERVER_PASSWORD_KEY);
      if (serverPassword) hello.password = serverPassword;
      const accountPassword = sessionStorage.getItem(ACCOUNT_PASSWORD_KEY);
      if (accountPassword) hello.accountPassword = accountPassword;
      const resume = {};
      let resuming = false;
      for (const conv of conversations.values()) {
        conv.resumeFrom = 0;
        if (conv.kind === "room" && conv.joined) {
          resume[conv.name] = conv.lastId;
          resuming = true;
          // A gap before this room's replay is a hole after this id (see openHole).
          conv.resumeFrom = conv.lastId;
        }
      }
      if (resuming) hello.resume = resume;
      ws.send(JSON.stringify(hello));
    });
    ws.addEventListener("message", (event) => {
      if (typeof event.data !== "string") return;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame !== null && typeof frame === "object" && typeof frame.type === "string") {
        handle(frame);
      }
    });
    ws.addEventListener("close", () => {
      if (socket !== ws) return;
      socket = null;
      online = false;
      for (const conv of conversations.values()) {
        conv.loading = false;
        for (const hole of conv.holes) {
          if (!hole.loading) continue;
          // What arrived is in order; the rest is asked for once the page is back.
          flushHole(hole);
          hole.loading = false;
          hole.interrupted = true;
          holeSays(hole, "More messages missed while offline are not shown.", "Load more");
        }
      }
      // Sent but never answered: the server may or may not have it, so say so.
      for (const [key, entry] of pending) {
        if (entry.line !== undefined) markUnsent(entry.line, "maybe not sent (connection lost)");
        pending.delete(key);
      }
      if (!wantConnection) return;
      if (!opened) unopened += 1;
      const delay = BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)];
      const jittered = Math.round(delay * (0.75 + Math.random() * 0.5));
      attempt += 1;
      const seconds = Math.ceil(jittered / 1000);
      if (unopened >= REFUSED_AFTER) explainRefusal(seconds);
      else setStatus(`Offline. Reconnecting in ${seconds} s…`);
      retryTimer = setTimeout(connect, jittered);
    });
  }

  /**
   * Says why the WebSocket keeps failing, as far as the page can learn: a plain request to /ws
   * gets the server's own sentence for a ban or a cap (403, 429), fails outright when the server
   * is down, and is otherwise answered (426), which leaves the origin check or the login rate.
   */
  function explainRefusal(seconds) {
    const tell = (text) => {
      if (online || !wantConnection) return;
      setStatus(`${text} Trying again in ${seconds} s…`);
      // Still at the nick form (a first visit): say it there too, where the eyes are.
      if (!ui.loginView.hidden) ui.loginError.textContent = text;
    };
    tell(REFUSED_TEXT);
    fetch("/ws", { cache: "no-store" }).then(async (response) => {
      if (response.status !== 403 && response.status !== 429) return;
      tell(`The server refuses this page's connection: ${refusalSentence(await response.text())}`);
    }, () => tell("The server cannot be reached: it may be down or restarting."));
  }

  /** The sentence of a refusal's body: an error frame's message, or the plain text. */
  function refusalSentence(body) {
    const first = body.split("\n", 1)[0].trim();
    try {
      const frame = JSON.parse(first);
      if (typeof frame?.message === "string") return frame.message.slice(0, 300);
    } catch {
      // Plain text, as the page refusals are.
    }
    return first.slice(0, 300);
  }

  function markUnsent(line, why) {
    line.classList.remove("pending");
    line.classList.add("unsent");
    const state = line.querySelector(".state") ?? document.createElement("span");
    state.className = "state";
    state.textContent = why;
    line.append(state);
  }

  function showLogin(message, need) {
    wantConnection = false;
    clearTimeout(retryTimer);
    socket?.close();
    ui.chatView.hidden = true;
    ui.loginView.hidden = false;
    setStatus("");
    ui.loginError.textContent = message;
    ui.nick.value = me;
    if (need === "server") ui.serverPasswordRow.hidden = false;
    ui.accountPasswordRow.hidden = need !== "password";
    const focus = need === "server"
      ? ui.serverPassword
      : need === "password"
      ? ui.accountPassword
      : ui.nick;
    focus.focus();
    // A nick to replace is selected, so typing another replaces it.
    if (focus === ui.nick) ui.nick.setSelectionRange(0, ui.nick.value.length);
  }

  function showChat() {
    ui.loginView.hidden = true;
    ui.chatView.hidden = false;
    if ("Notification" in globalThis && Notification.permission === "default") {
      ui.notify.hidden = false;
    }
  }

  function welcome(frame) {
    online = true;
    attempt = 0;
    setStatus("");
    ui.loginError.textContent = "";
    const maxFrame = frame.limits?.maxFrame;
    limits = { maxFrame: typeof maxFrame === "number" && maxFrame > 0 ? maxFrame : 0 };
    me = frame.nick;
    localStorage.setItem(NICK_KEY, me);
    localStorage.setItem(WELCOMED_KEY, me);
    const first = conversations.size === 0;
    for (const room of frame.rooms ?? []) {
      const conv = conversation(roomKey(room.room));
      conv.name = room.room;
      conv.joined = true;
      conv.topic = room.topic ?? "";
      conv.members = Array.isArray(room.members) ? [...room.members] : [];
      conv.membersStale = typeof room.count === "number" && room.count > conv.members.length;
    }
    showChat();
    if (first || !conversations.has(active)) {
      active = conversations.has(LOBBY) ? LOBBY : (frame.rooms?.[0]?.room ?? LOBBY);
    }
    switchTo(active);
    ui.message.focus();
    // What was typed offline goes out now, in order.
    for (const entry of outbox.splice(0)) sendLine(entry.text, entry.key, entry.line);
    // Holes a lost connection interrupted go on filling.
    for (const conv of conversations.values()) {
      for (const hole of conv.holes) {
        if (!hole.interrupted) continue;
        hole.interrupted = false;
        hole.pages = 0;
        fillHole(hole);
      }
    }
  }

  function handle(frame) {
    // The server answers in order: an answer to something sent on this connection comes after
    // the whole resume replay.
    if (typeof frame.ref === "string" && pending.has(frame.ref)) resumeOver();
    switch (frame.type) {
      case "welcome":
        welcome(frame);
        break;
      case "msg": {
        receive(roomKey(frame.room), frame);
        break;
      }
      case "dm": {
        const other = frame.from === me ? frame.to : frame.from;
        // An IRC /me comes flagged; a native one is sent as "* text" (see sendLine), shown as one.
        if (frame.action === true) {
          receive(dmKey(other), frame);
          break;
        }
        const action = typeof frame.text === "string" && frame.text.startsWith("* ") &&
          frame.text.length > 2;
        receive(dmKey(other), action ? { ...frame, text: frame.text.slice(2), action } : frame);
        break;
      }
      case "ack":
        acknowledged(frame);
        break;
      case "join": {
        const conv = conversation(roomKey(frame.room));
        if (!conv.members.includes(frame.nick)) conv.members.push(frame.nick);
        append(conv, noticeLine(`${frame.nick} joined ${frame.room}`), frame.ts ?? Date.now());
        if (conv.key === active) renderHeader();
        break;
      }
      case "leave": {
        const conv = conversation(roomKey(frame.room));
        conv.members = conv.members.filter((nick) => nick !== frame.nick);
        if (frame.reason === "kicked_room" && typeof frame.by === "string") {
          const said = frame.message ? `: ${frame.message}` : ".";
          if (frame.nick === me) {
            // Out of the room: a resume must not ask for it back (it would rejoin).
            conv.joined = false;
            append(
              conv,
              noticeLine(`You were kicked from ${frame.room} by ${frame.by}${said}`, "error"),
              frame.ts ?? Date.now(),
            );
            renderRoomList();
          } else {
            append(
              conv,
              noticeLine(`${frame.nick} was kicked from ${frame.room} by ${frame.by}${said}`),
              frame.ts ?? Date.now(),
            );
          }
          if (conv.key === active) renderHeader();
          break;
        }
        const why = frame.message ? `${frame.reason}: ${frame.message}` : frame.reason;
        append(
          conv,
          noticeLine(`${frame.nick} left ${frame.room} (${why})`),
          frame.ts ?? Date.now(),
        );
        if (conv.key === active) renderHeader();
        break;
      }
      case "joined": {
        pending.delete(frame.ref);
        const conv = conversation(roomKey(frame.room));
        conv.name = frame.room;
        conv.joined = true;
        conv.topic = frame.topic ?? "";
        conv.members = Array.isArray(frame.members) ? [...frame.members] : [];
        conv.membersStale = typeof frame.count === "number" && frame.count > conv.members.length;
        switchTo(conv.key);
        // Joined from the side box: the next thing to type is a message there.
        if (document.activeElement === ui.joinRoomName) ui.message.focus();
        break;
      }
      case "parted": {
        pending.delete(frame.ref);
        const conv = conversations.get(roomKey(frame.room));
        if (conv !== undefined) closeConversation(conv);
        break;
      }
      case "who": {
        const conv = conversation(roomKey(frame.room));
        conv.members = Array.isArray(frame.members) ? [...frame.members] : conv.members;
        if (pending.get(frame.ref)?.quiet !== true) {
          notice(conv.key, `In ${frame.room}: ${conv.members.join(", ")}`);
        }
        pending.delete(frame.ref);
        if (conv.key === active) renderHeader();
        break;
      }
      case "rooms": {
        pending.delete(frame.ref);
        const lines = (frame.rooms ?? []).map((r) =>
          `${r.room} (${r.members})${r.topic ? " " + r.topic : ""}`
        );
        if (typeof frame.more === "number") lines.push(`and ${frame.more} more`);
        notice(active, "Rooms:\n" + lines.join("\n"));
        break;
      }
      case "topic": {
        pending.delete(frame.ref);
        const conv = conversation(roomKey(frame.room));
        conv.topic = frame.topic ?? "";
        notice(
          conv.key,
          frame.by ? `${frame.by} set the topic: ${conv.topic}` : `Topic: ${conv.topic}`,
        );
        if (conv.key === active) renderHeader();
        break;
      }
      case "nick":
        renamed(frame);
        break;
      case "info":
        info(frame);
        break;
      case "gap": {
        const conv = conversation(roomKey(frame.room));
        if (frame.live === true) {
          // Live messages lost on the server's side (a cluster node fell behind), not a replay
          // cut: they are newer than what is shown, where scroll-back would never look.
          notice(
            conv.key,
            "Messages said here lately may be missing (the server fell behind the rest of the " +
              "chat): /history shows them.",
          );
          break;
        }
        if (conv.resumeFrom > 0) {
          // A resume cut short: the messages left out lie between the last one seen and the
          // replay, where scroll-back (older than the oldest shown) would never look.
          openHole(conv, conv.resumeFrom, frame.missed);
          conv.resumeFrom = 0;
          break;
        }
        append(conv, scrollUpLine(frame.missed), Date.now());
        conv.more = true;
        break;
      }
      case "error":
        failed(frame);
        break;
      case "bye": {
        const text = frame.message ?? "The server said goodbye.";
        // Coming back by itself would take the nick back, undo an operator's kick, or be refused;
        // anything else (a shutdown) reconnects.
        const final = frame.reason === "replaced" || frame.reason === "banned" ||
          frame.reason === "kicked";
        if (!final) {
          notice(active, text, "error");
          break;
        }
        wantConnection = false;
        const stop = /[.!?]$/.test(text) ? "" : ".";
        setStatus(frame.reason === "banned" ? text : `${text}${stop} Disconnected.`);
        // A ban refuses any new connection; a kick or a takeover may be followed by one, asked for.
        if (frame.reason === "banned") notice(active, text, "error");
        else append(conversation(active), reconnectLine(text), Date.now());
        break;
      }
      case "ping":
        send({ type: "pong", token: frame.token });
        break;
      case "challenge":
        // This page holds no key; a key login is for `sockchat join`.
        showLogin("This page cannot prove a key. Pick another nickname.", "nick");
        break;
      default:
        break;
    }
  }

  function acknowledged(frame) {
    const entry = pending.get(frame.ref);
    pending.delete(frame.ref);
    if (entry === undefined || entry.line === undefined) return;
    entry.line.classList.remove("pending");
    entry.line.querySelector(".state")?.remove();
    if (typeof frame.ts === "number") {
      entry.line.querySelector("time")?.replaceWith(timeNode(frame.ts));
    }
    if (typeof frame.to === "string" && frame.to !== "") {
      // A DM (from /msg or /reply): it lives in that nick's conversation.
      const conv = conversation(dmKey(frame.to));
      if (entry.line.parentElement !== conv.list) {
        entry.line.remove();
        append(conv, entry.line, frame.ts ?? Date.now());
      }
      if (typeof frame.id === "number") noteId(conv, frame.id);
      return;
    }
    if (typeof frame.id === "number" && frame.room) {
      const conv = conversation(roomKey(frame.room));
      // Our own message, after any resume replay: a hole it follows ends before it.
      placeHoles(conv, frame.id);
      noteId(conv, frame.id);
      entry.line.dataset.id = String(frame.id);
    }
  }

  function renamed(frame) {
    pending.delete(frame.ref);
    if (frame.old === me) {
      me = frame.new;
      localStorage.setItem(NICK_KEY, me);
      localStorage.setItem(WELCOMED_KEY, me);
    }
    for (const conv of conversations.values()) {
      const at = conv.members.indexOf(frame.old);
      if (at === -1) continue;
      conv.members[at] = frame.new;
      append(conv, noticeLine(`${frame.old} is now ${frame.new}`), frame.ts ?? Date.now());
    }
    const dm = conversations.get(dmKey(frame.old));
    if (dm !== undefined && !conversations.has(dmKey(frame.new))) {
      conversations.delete(dm.key);
      dm.key = dmKey(frame.new);
      dm.name = frame.new;
      conversations.set(dm.key, dm);
      if (active === dmKey(frame.old)) active = dm.key;
    }
    renderRoomList();
    renderHeader();
  }

  function info(frame) {
    const entry = pending.get(frame.ref);
    if (entry?.hole !== undefined && typeof frame.more === "boolean") {
      pending.delete(frame.ref);
      holeAnswered(entry.hole, frame);
      return;
    }
    if (typeof frame.room === "string" && typeof frame.more === "boolean") {
      // The closing info of a /history: put the page in place and note where to page on.
      const conv = conversation(roomKey(frame.room));
      flushPage(conv);
      // A /history typed by the user may have brought messages of a hole too.
      for (const hole of conv.holes) if (!hole.loading) flushHole(hole);
      conv.loading = false;
      conv.more = frame.more;
      if (
        typeof frame.before === "number" && (conv.oldestId === 0 || frame.before < conv.oldestId)
      ) {
        conv.oldestId = frame.before;
      }
      pending.delete(frame.ref);
      if (entry?.quiet === true) return;
      notice(conv.key, frame.text ?? "");
      return;
    }
    pending.delete(frame.ref);
    const key = typeof frame.room === "string" ? roomKey(frame.room) : active;
    notice(key, frame.text ?? "");
    if (typeof frame.room === "string" && frame.ref === undefined) {
      // Arrivals and departures told in one line: the member list is now partial.
      const conv = conversation(key);
      conv.membersStale = true;
      if (key === active) askMembers(conv);
    }
  }

  function failed(frame) {
    const entry = pending.get(frame.ref);
    pending.delete(frame.ref);
    if (!online) {
      // A refused hello: ask again for what would let it through.
      switch (frame.code) {
        case "nick_taken": {
          // The nick this browser last logged in with is most often held by another tab.
          const stored = localStorage.getItem(WELCOMED_KEY) ?? "";
          const ours = stored !== "" && stored.toLowerCase() === me.toLowerCase();
          showLogin(
            ours
              ? `The nickname ${me} is in use, maybe by this page in another tab of this ` +
                "browser. Close that tab, or pick another nickname."
              : frame.message,
            "nick",
          );
          return;
        }
        case "nick_invalid":
          showLogin(frame.message, "nick");
          return;
        case "bad_password": {
          // With no password sent, the server's sentence is advice for the terminal client
          // (a flag); a wrong password or a lockout is said as the server says it.
          const sent = sessionStorage.getItem(SERVER_PASSWORD_KEY) !== null;
          sessionStorage.removeItem(SERVER_PASSWORD_KEY);
          const terminalAdvice = !sent && String(frame.message).includes("--password");
          showLogin(
            terminalAdvice
              ? "This server needs a password: ask whoever runs it, and type it below."
              : frame.message,
            "server",
          );
          return;
        }
        case "nick_registered":
          showLogin(frame.message, frame.need === "password" ? "password" : "nick");
          return;
        case "bad_account_password":
          sessionStorage.removeItem(ACCOUNT_PASSWORD_KEY);
          showLogin(frame.message, "password");
          return;
        case "banned":
          wantConnection = false;
          setStatus(frame.message);
          return;
        default:
          // rate_limited and the like: try again after the backoff, on a new connection.
          setStatus(frame.message);
          if (frame.fatal !== true) socket?.close();
          return;
      }
    }
    if (entry?.line !== undefined) markUnsent(entry.line, `not sent: ${frame.message}`);
    else if (entry?.hole !== undefined) {
      const hole = entry.hole;
      flushHole(hole);
      hole.loading = false;
      holeSays(
        hole,
        `The messages missed while offline could not be loaded: ${frame.message}`,
        "Try again",
      );
    } else if (entry?.room !== undefined) {
      const conv = conversation(roomKey(entry.room));
      conv.loading = false;
      if (entry.quiet !== true) errorNotice(conv.key, frame);
    } else errorNotice(active, frame);
  }

  function closeConversation(conv) {
    conv.list.remove();
    conversations.delete(conv.key);
    if (active === conv.key) {
      active = conversations.has(LOBBY) ? LOBBY : (conversations.keys().next().value ?? LOBBY);
      switchTo(active);
    } else renderRoomList();
  }

  // ---- sending -----------------------------------------------------------------------------

  /** A local line for what the user sent, marked pending until the server acknowledges it. */
  function ownLine(key, text, action) {
    const line = messageLine({ from: me, text, ts: Date.now(), action });
    line.classList.add("pending");
    const state = document.createElement("span");
    state.className = "state";
    state.textContent = online ? "sending…" : "waiting for the connection…";
    line.append(state);
    append(conversation(key), line, Date.now());
    return line;
  }

  /**
   * Sends what the user typed in conversation `key`: a /command as a cmd frame, anything else
   * as a message (to the room, or as /msg in a DM). `line` is an existing pending line to reuse.
   */
  function sendLine(text, key, line) {
    const conv = conversation(key);
    const isCommand = text.startsWith("/") && !text.startsWith("//");
    const body = text.startsWith("//") ? text.slice(1) : text;
    let action = false;
    let shown = true;
    if (isCommand) {
      const [word] = text.split(/\s/, 1);
      const rest = text.slice(word.length).replace(/^\s+/, "");
      switch (word.toLowerCase()) {
        case "/me":
          action = true;
          break;
        case "/msg": {
          shown = false;
          const [to] = rest.split(/\s/, 1);
          const said = rest.slice(to.length).replace(/^\s+/, "");
          if (to !== "" && said !== "") {
            line ??= ownLine(dmKey(to), said, false);
            shown = true;
          }
          break;
        }
        case "/reply":
        case "/r":
          // Shown here until the ack names whom it went to; then it moves to that DM.
          if (rest !== "") line ??= ownLine(key, rest, false);
          else shown = false;
          break;
        default:
          shown = false;
      }
      if (action) line ??= ownLine(key, rest, true);
    } else {
      line ??= ownLine(key, body, false);
    }
    if (!online) {
      if (shown && line !== undefined && outbox.length < MAX_OUTBOX) {
        outbox.push({ text, key, line });
      } else if (line !== undefined) {
        markUnsent(line, "not sent (offline)");
      } else {
        notice(key, "Offline: that command was not sent.", "error");
      }
      return;
    }
    const r = ref();
    const frame = wireFrame(text, conv, r);
    const size = byteSize(frame);
    if (limits.maxFrame > 0 && size > limits.maxFrame) {
      // Typed offline under older limits: the server would close the connection over it.
      const why = `not sent: too long (${size} bytes of ${limits.maxFrame})`;
      if (line !== undefined) markUnsent(line, why);
      else notice(key, why, "error");
      return;
    }
    if (line !== undefined) {
      const state = line.querySelector(".state");
      if (state !== null) state.textContent = "sending…";
    }
    pending.set(r, { line, key, room: currentRoom() });
    send(frame);
  }

  /**
   * The frame `text` typed in `conv` goes out as: a /command as a cmd frame, anything else as a
   * message (to the room, or as /msg in a DM; "//" sends a line starting with "/").
   */
  function wireFrame(text, conv, r) {
    const body = text.startsWith("//") ? text.slice(1) : text;
    let line;
    if (text.startsWith("/") && !text.startsWith("//")) {
      const [word] = text.split(/\s/, 1);
      const rest = text.slice(word.length).replace(/^\s+/, "");
      // A DM has no action flag: /me there is sent as "* text" (shown as an action on arrival).
      const dmAction = word.toLowerCase() === "/me" && conv.kind === "dm";
      line = dmAction ? `/msg ${conv.name} * ${rest}` : text;
    } else if (conv.kind === "dm") line = `/msg ${conv.name} ${body}`;
    if (line === undefined) return { type: "msg", room: conv.name, text: body, ref: r };
    return { type: "cmd", line, room: currentRoom(), ref: r };
  }

  /** A frame's size on the wire, in UTF-8 bytes: what the server's maxFrame counts. */
  function byteSize(frame) {
    return new TextEncoder().encode(JSON.stringify(frame)).length;
  }

  /**
   * Bytes `text` would take as a frame from conversation `key`, when that is past the server's
   * maxFrame (which would close the connection over it); 0 when it fits or no limit is known.
   */
  function oversize(text, key) {
    if (limits.maxFrame === 0) return 0;
    const size = byteSize(wireFrame(text, conversation(key), "w" + String(nextRef)));
    return size > limits.maxFrame ? size : 0;
  }

  /** Says, once per attempt, that what is in the box is too long to send, which stays there. */
  function sayTooLong(size) {
    ui.message.setAttribute("aria-invalid", "true");
    notice(
      active,
      `Too long to send: ${size} bytes of ${limits.maxFrame}. It is still in the box: ` +
        "shorten it or send it in parts.",
      "error",
    );
  }

  /** Asks for the page of the open room older than what is shown. */
  function scrollBack() {
    const conv = conversations.get(active);
    if (conv === undefined || conv.kind !== "room" || !online) return;
    if (conv.loading || !conv.more || conv.oldestId === 0) return;
    conv.loading = true;
    const r = ref();
    pending.set(r, { key: conv.key, room: conv.name, quiet: true });
    send({
      type: "cmd",
      line: `/history ${PAGE_SIZE} before ${conv.oldestId}`,
      room: conv.name,
      ref: r,
    });
  }

  // ---- input -------------------------------------------------------------------------------

  let completion = null;

  function complete() {
    const box = ui.message;
    const caret = box.selectionStart;
    if (caret !== box.selectionEnd) return false;
    if (completion !== null && completion.caret === caret && box.value === completion.value) {
      completion.index = (completion.index + 1) % completion.options.length;
    } else {
      const before = box.value.slice(0, caret);
      const word = /[^\s]*$/.exec(before)?.[0] ?? "";
      if (word === "") return false;
      const start = caret - word.length;
      const lower = word.toLowerCase();
      let pool;
      if (word.startsWith("/") && start === 0) pool = COMMANDS;
      else if (word.startsWith("#")) {
        pool = [...conversations.values()].filter((c) => c.kind === "room").map((c) => c.name);
      } else {
        pool = conversations.get(active)?.members ?? [];
      }
      const options = pool.filter((name) => name.toLowerCase().startsWith(lower) && name !== me);
      if (options.length === 0) return false;
      completion = { start, end: caret, options, index: 0, caret: 0, value: "" };
    }
    const pick = completion.options[completion.index];
    const suffix = completion.start === 0 && !pick.startsWith("/") && !pick.startsWith("#")
      ? ": "
      : " ";
    const value = box.value.slice(0, completion.start) + pick + suffix +
      box.value.slice(completion.end);
    box.value = value;
    const caretAt = completion.start + pick.length + suffix.length;
    box.setSelectionRange(caretAt, caretAt);
    completion.end = caretAt;
    completion.caret = caretAt;
    completion.value = value;
    return true;
  }

  ui.message.addEventListener("keydown", (event) => {
    const box = ui.message;
    if (event.key === "Tab" && !event.shiftKey && !event.altKey && !event.ctrlKey) {
      // With nothing to complete, Tab moves focus as usual: the page stays keyboard reachable.
      if (complete()) event.preventDefault();
      return;
    }
    completion = null;
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      const text = box.value;
      if (text.trim() === "") return;
      const size = oversize(text, active);
      if (size > 0) return sayTooLong(size);
      box.setAttribute("aria-invalid", "false");
      box.value = "";
      lastTyped = text;
      sendLine(text, active, undefined);
      return;
    }
    if (event.key === "ArrowUp" && box.selectionStart === 0 && box.selectionEnd === 0) {
      if (box.value === "" && lastTyped !== "") {
        event.preventDefault();
        box.value = lastTyped;
        box.setSelectionRange(lastTyped.length, lastTyped.length);
      }
    }
  });

  ui.message.addEventListener("input", (event) => {
    // A pasted block past the limit is flagged at once, before the Enter that would fail.
    if (event.inputType !== "insertFromPaste") {
      if (oversize(ui.message.value, active) === 0) {
        ui.message.setAttribute("aria-invalid", "false");
      }
      return;
    }
    const size = oversize(ui.message.value, active);
    if (size > 0) sayTooLong(size);
  });

  ui.log.addEventListener("scroll", () => {
    if (ui.log.scrollTop < SCROLL_BACK_PX) scrollBack();
  });
  // A log too short to scroll fires no scroll event: asking to go further up, by wheel, touch
  // or key (the log is focusable), loads the older page all the same.
  ui.log.addEventListener("wheel", (event) => {
    if (event.deltaY < 0 && ui.log.scrollTop < SCROLL_BACK_PX) scrollBack();
  }, { passive: true });
  ui.log.addEventListener("touchmove", () => {
    if (ui.log.scrollTop < SCROLL_BACK_PX) scrollBack();
  }, { passive: true });
  ui.log.addEventListener("keydown", (event) => {
    const up = event.key === "PageUp" || event.key === "ArrowUp" || event.key === "Home";
    if (up && ui.log.scrollTop < SCROLL_BACK_PX) scrollBack();
  });

  ui.join.addEventListener("submit", (event) => {
    event.preventDefault();
    const nick = ui.nick.value.trim();
    if (nick === "") return;
    // Remembered once a welcome accepts it: a refused first visit (a wrong origin, a ban) must
    // not skip the form on the next one.
    me = nick;
    if (!ui.serverPasswordRow.hidden && ui.serverPassword.value !== "") {
      sessionStorage.setItem(SERVER_PASSWORD_KEY, ui.serverPassword.value);
    }
    if (!ui.accountPasswordRow.hidden && ui.accountPassword.value !== "") {
      sessionStorage.setItem(ACCOUNT_PASSWORD_KEY, ui.accountPassword.value);
    } else sessionStorage.removeItem(ACCOUNT_PASSWORD_KEY);
    ui.serverPassword.value = "";
    ui.accountPassword.value = "";
    ui.loginError.textContent = "";
    attempt = 0;
    unopened = 0;
    // The form stays until the welcome: a server that never answers (a refused origin, a ban)
    // must not leave an empty chat view that looks logged in.
    connect();
  });

  ui.joinRoom.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = ui.joinRoomName.value.trim();
    if (name === "") return;
    ui.joinRoomName.value = "";
    sendLine("/join " + name, active, undefined);
  });

  ui.leave.addEventListener("click", () => {
    const conv = conversations.get(active);
    if (conv === undefined) return;
    if (conv.kind === "dm") closeConversation(conv);
    else sendLine("/leave " + conv.name, active, undefined);
    ui.message.focus();
  });

  ui.membersToggle.addEventListener("click", () => {
    const open = ui.members.classList.toggle("open");
    ui.membersToggle.setAttribute("aria-expanded", String(open));
  });

  ui.notify.addEventListener("click", async () => {
    await Notification.requestPermission();
    ui.notify.hidden = true;
  });

  document.addEventListener("visibilitychange", () => {
    if (document.hidden) return;
    missedMentions = 0;
    document.title = baseTitle;
  });

  // ---- start -------------------------------------------------------------------------------

  // The note for a page whose script never loaded: this one did.
  document.getElementById("script-missing")?.remove();

  if (me === "") {
    showLogin("", "nick");
  } else {
    showChat();
    ui.message.focus();
    connect();
  }
})();
