/**
 * The NDJSON wire format: each frame is a JSON object; the first must be a hello. A hello with a
 * `key` is held until the client proves it holds that key: the session sends a `challenge` (a
 * fresh nonce) and logs in only once a `prove` frame carries a valid ed25519 signature over
 * {@linkcode CHALLENGE_CONTEXT} and the nonce. The handshake deadline runs on meanwhile.
 *
 * @module
 */

import { createPublicKey, type KeyObject, verify } from "node:crypto";
import { type Awaitable, then } from "../../core/awaitable.ts";
import type { KeyProof } from "../../core/identity.ts";
import { CHALLENGE_NONCE_BYTES } from "../../config/security_limits.ts";
import {
  blobFromOpenSsh,
  ed25519Blob,
  ed25519PublicFromOpenSsh,
  fingerprintOfBlob,
  weakEd25519Signature,
  weakSshKey,
} from "../../security/ssh_keys.ts";
import { assertNever, CHALLENGE_CONTEXT, errorFrame, type HelloFrame } from "../frames.ts";
import { parseClientFrame } from "./decode.ts";
import type { LoginAttempt, ProtocolSession, SessionPort } from "../session.ts";

/** A key login waiting for its `prove`: the hello, and what the signature must cover. */
interface PendingProof {
  /** The login the hello asked for, made once the key is proven. */
  readonly attempt: LoginAttempt;
  /** The hello's key, for the signature check. */
  readonly publicKey: KeyObject;
  /** Its OpenSSH fingerprint: what the core compares. */
  readonly fingerprint: string;
  /** UTF-8 of the context, then the nonce: the exact bytes the client must sign. */
  readonly signed: Uint8Array;
}

const encoder = new TextEncoder();

/** Adapts NDJSON frames from one connection to hub calls. */
export class NdjsonSession implements ProtocolSession {
  readonly #conn: SessionPort;
  /** A challenge sent and not yet answered. */
  #pending: PendingProof | null = null;
  /**
   * The key this connection has proven, if any: a hello retried after a refusal (a nick taken)
   * with the same key needs no second challenge.
   */
  #proven: KeyProof | null = null;

  /** Drives `conn`; the peer feeds it the frames. */
  constructor(conn: SessionPort) {
    this.#conn = conn;
  }

  /** NDJSON clients speak first; nothing to send. */
  start(): void {}

  /** Nothing to do at the end of a read: every frame stands alone. */
  endOfBatch(): void {}

  /** Handles one frame. */
  frame(bytes: Uint8Array): Awaitable<void> {
    if (bytes.length === 0) return; // blank lines are harmless keep-alives
    if (!this.#conn.admit(bytes.length, () => refOf(bytes))) return;
    const parsed = parseClientFrame(bytes);
    if (!parsed.ok) {
      this.#conn.protocolError(parsed.error);
      return;
    }
    const frame = parsed.frame;
    const user = this.#conn.user;
    switch (frame.type) {
      case "hello": {
        if (user !== null) {
          this.#conn.send(
            errorFrame("already_joined", `You are already logged in as ${user.nick}.`),
          );
          return;
        }
        if (this.#pending !== null) {
          this.#conn.protocolError(errorFrame(
            "bad_frame",
            "A challenge is waiting for your prove frame; answer it before another hello.",
          ));
          return;
        }
        return this.#hello(frame);
      }
      case "prove":
        return this.#prove(frame.sig);
      case "msg":
      case "cmd":
        if (user === null) {
          this.#conn.send(
            errorFrame("not_joined", "Send a hello before anything else.", { ref: frame.ref }),
          );
        } else if (frame.type === "msg") {
          this.#conn.say(frame.room, frame.text, frame.ref);
        } else {
          return then(this.#conn.command(frame.line, frame.room, frame.ref), () => {});
        }
        return;
      case "pong":
        return; // a sign of life, and every frame read already counts as one
      case "quit":
        this.#conn.quit();
        return;
      default:
        assertNever(frame);
    }
  }

  /** Logs in at once, or, with a key not yet proven here, sends a challenge first. */
  #hello(frame: HelloFrame): Awaitable<void> {
    const attempt: LoginAttempt = {
      version: frame.v,
      nick: frame.nick,
      resume: frame.resume,
      password: frame.password,
    };
    if (frame.accountPassword !== undefined) attempt.accountPassword = frame.accountPassword;
    if (frame.key === undefined) return this.#login(attempt);
    const raw = ed25519PublicFromOpenSsh(frame.key);
    if (raw === null) {
      const blob = blobFromOpenSsh(frame.key);
      const weak = blob === null ? null : weakSshKey(blob);
      this.#conn.protocolError(errorFrame(
        "bad_frame",
        weak !== null
          ? `That ssh-ed25519 key cannot log in: ${weak}, which anyone could sign for.`
          : 'Only ed25519 keys can log in: "key" must read "ssh-ed25519 AAAA...", as in a .pub file.',
      ));
      return;
    }
    const publicKey = ed25519PublicKey(raw);
    if (publicKey === null) {
      // Bytes that name no point of the curve: a bad frame, not a server error.
      this.#conn.protocolError(errorFrame(
        "bad_frame",
        "That ssh-ed25519 key is not a point on the ed25519 curve: no one holds it.",
      ));
      return;
    }
    const fingerprint = fingerprintOfBlob(ed25519Blob(raw));
    if (this.#proven?.fingerprint === fingerprint) {
      return this.#login({ ...attempt, key: this.#proven });
    }
    const nonce = crypto.getRandomValues(new Uint8Array(CHALLENGE_NONCE_BYTES));
    const context = encoder.encode(CHALLENGE_CONTEXT);
    const signed = new Uint8Array(context.length + nonce.length);
    signed.set(context);
    signed.set(nonce, context.length);
    this.#pending = { attempt, publicKey, fingerprint, signed };
    this.#conn.send({ type: "challenge", nonce: nonce.toBase64() });
  }

  /** Checks the answer to the challenge; a good one logs in, a bad one ends the connection. */
  #prove(sig: string): Awaitable<void> {
    const pending = this.#pending;
    if (pending === null) {
      this.#conn.protocolError(errorFrame("bad_frame", "There is no challenge to answer."));
      return;
    }
    this.#pending = null;
    if (!signatureHolds(pending, sig)) {
      this.#conn.refuse(
        errorFrame(
          "bad_signature",
          "That signature does not prove you hold the key you sent; closing.",
          { fatal: true },
        ),
        pending.attempt.nick,
      );
      return;
    }
    this.#proven = { source: "sockchat", fingerprint: pending.fingerprint };
    return this.#login({ ...pending.attempt, key: this.#proven });
  }

  #login(attempt: LoginAttempt): Awaitable<void> {
    return then(this.#conn.login(attempt), () => {});
  }
}

/** The `ref` a frame carries, if it is a well-formed `msg` or `cmd` with one. */
function refOf(bytes: Uint8Array): string | undefined {
  const parsed = parseClientFrame(bytes);
  if (!parsed.ok) return undefined;
  const frame = parsed.frame;
  return frame.type === "msg" || frame.type === "cmd" ? frame.ref : undefined;
}

/** The node:crypto key for 32 raw ed25519 bytes; null when they are not a point of the curve. */
function ed25519PublicKey(raw: Uint8Array): KeyObject | null {
  try {
    return createPublicKey({
      key: {
        kty: "OKP",
        crv: "Ed25519",
        x: raw.toBase64({ alphabet: "base64url", omitPadding: true }),
      },
      format: "jwk",
    });
  } catch {
    return null;
  }
}

/** True if `sig` (base64) is the key's ed25519 signature of the challenge's bytes. */
function signatureHolds(pending: PendingProof, sig: string): boolean {
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.fromBase64(sig);
  } catch {
    return false;
  }
  if (bytes.length !== ED25519_SIGNATURE_BYTES) return false;
  // node:crypto would accept some signatures RFC 8032 refuses (S >= L, a small-order R).
  if (weakEd25519Signature(bytes) !== null) return false;
  try {
    return verify(null, pending.signed, pending.publicKey, bytes);
  } catch {
    return false;
  }
}

/** Length of an ed25519 signature. */
const ED25519_SIGNATURE_BYTES = 64;
