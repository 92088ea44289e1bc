/**
 * Micro-benchmark: encoding one broadcast frame to NDJSON bytes (`Outgoing.encode(NDJSON)`), which
 * the server does once per message however many recipients it has.
 *
 * @module
 */

import { NDJSON } from "../protocol/ndjson/encode.ts";
import { Outgoing } from "../protocol/outgoing.ts";
import { ITERATIONS, TEXT_64 } from "./micro_options.ts";

let id = 1;

Deno.bench({
  name: "frame encode: Outgoing.encode(NDJSON) of a 64-byte msg (1 frame per iteration)",
  ...ITERATIONS,
  fn() {
    const out = new Outgoing({
      type: "msg",
      id: id++,
      room: "#lobby",
      from: "c42",
      text: TEXT_64,
      ts: 1_700_000_000_000,
    });
    if (out.encode(NDJSON).length === 0) throw new Error("empty encoding");
  },
});
