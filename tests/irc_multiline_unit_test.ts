/**
 * Inbound draft/multiline batches (protocol/irc/multiline.ts), without sockets: assembly with
 * concat breaks and blank lines (irctest testBasic/testBlankLines), and every FAIL of contract
 * §5.8 — wrong batch id (testInvalidBatchTag), target, mixed commands, blank concat
 * (testInvalidBlankConcatTag), all blank, max-lines (testLineLimit), max-bytes (testByteLimit),
 * a second open batch, an unsupported type — each dropping the batch and ignoring its leftovers.
 */

import assert from "node:assert/strict";
import { parseLine } from "../protocol/irc/line.ts";
import {
  MultilineAssembler,
  type MultilineAssembler as Assembler,
  type MultilineStep,
} from "../protocol/irc/multiline.ts";

function feeder(limits = { maxBytes: 4096, maxLines: 32 }) {
  const ml = new MultilineAssembler(limits);
  const feed = (line: string): MultilineStep => {
    const r = parseLine(new TextEncoder().encode(line));
    if (r.kind !== "message") throw new Error(`test line did not parse: ${line}`);
    return ml.feed(r.message);
  };
  return { ml, feed };
}

const HELD = { kind: "held" };

function failOf(step: MultilineStep) {
  assert.equal(step.kind, "fail", JSON.stringify(step));
  if (step.kind !== "fail") throw new Error("unreachable");
  const { code, context, description } = step.fail;
  return { code, context, description, label: step.fail.batchTags.get("label") };
}

function assertEmpty(ml: Assembler) {
  assert.equal(ml.isOpen, false);
  assert.equal(ml.bufferedBytes, 0);
}

Deno.test("a batch assembles: \\n joins, concat joins with nothing, breaks at the joins", () => {
  const { ml, feed } = feeder();
  assert.deepEqual(feed("@label=xyz BATCH +123 draft/multiline #test"), HELD);
  assert.equal(ml.isOpen, true);
  assert.deepEqual(feed("@batch=123 PRIVMSG #test hello"), HELD);
  assert.deepEqual(feed("@batch=123 PRIVMSG #test :#how is "), HELD);
  assert.deepEqual(feed("@batch=123;draft/multiline-concat PRIVMSG #test :everyone?"), HELD);
  assert.equal(ml.bufferedBytes, 5 + 1 + 8 + 9);
  const done = feed("BATCH -123");
  assert.equal(done.kind, "message");
  if (done.kind !== "message") return;
  assert.equal(done.message.command, "PRIVMSG");
  assert.equal(done.message.target, "#test");
  assert.equal(done.message.text, "hello\n#how is everyone?");
  assert.deepEqual(done.message.breaks, [14]);
  assert.equal(done.message.text.slice(14), "everyone?");
  assert.equal(done.message.batchTags.get("label"), "xyz");
  assertEmpty(ml);
});

Deno.test("blank lines are kept; a concat flag on the first line adds no break", () => {
  const { feed } = feeder();
  feed("BATCH +a draft/multiline #test");
  feed("@batch=a;draft/multiline-concat NOTICE #test first");
  feed("@batch=a NOTICE #test :");
  feed("@batch=a NOTICE #test :#how is ");
  feed("@batch=a;draft/multiline-concat NOTICE #test everyone?");
  const done = feed("BATCH -a");
  assert.equal(done.kind, "message");
  if (done.kind !== "message") return;
  assert.equal(done.message.command, "NOTICE");
  assert.equal(done.message.text, "first\n\n#how is everyone?");
  assert.deepEqual(done.message.breaks, ["first\n\n#how is ".length]);
});

Deno.test("lines without a batch tag pass through while a batch is open", () => {
  const { ml, feed } = feeder();
  feed("BATCH +1 draft/multiline #test");
  assert.deepEqual(feed("PING x"), { kind: "pass" });
  assert.deepEqual(feed("PRIVMSG #other :hi"), { kind: "pass" });
  assert.equal(ml.isOpen, true);
});

Deno.test("FAIL MULTILINE_INVALID: a line with another batch id drops the batch (testInvalidBatchTag)", () => {
  const { ml, feed } = feeder();
  feed("@label=L BATCH +123 draft/multiline #test");
  assert.deepEqual(failOf(feed("@batch=231 PRIVMSG #test :hi")), {
    code: "MULTILINE_INVALID",
    context: [],
    description: "Line does not belong to the open batch",
    label: "L",
  });
  assertEmpty(ml);
  // The dropped batch's later lines and its end are ignored, not failed again.
  assert.deepEqual(feed("@batch=123 PRIVMSG #test :more"), HELD);
  assert.deepEqual(feed("BATCH -123"), HELD);
  // After that its id is forgotten: a stray end is an error again.
  assert.equal(failOf(feed("BATCH -123")).code, "MULTILINE_INVALID");
});

Deno.test("FAIL MULTILINE_INVALID_TARGET names both targets; case alone is no difference", () => {
  const { feed } = feeder();
  feed("BATCH +456 draft/multiline #foo");
  assert.deepEqual(feed("@batch=456 PRIVMSG #FOO hello"), HELD, "CASEMAPPING=ascii");
  assert.deepEqual(failOf(feed("@batch=456 PRIVMSG #bar hello")), {
    code: "MULTILINE_INVALID_TARGET",
    context: ["#foo", "#bar"],
    description: "Invalid multiline target",
    label: undefined,
  });
  assert.deepEqual(feed("BATCH -456"), HELD);
});

Deno.test("FAIL MULTILINE_INVALID: mixed PRIVMSG/NOTICE, other commands, missing text", () => {
  for (
    const bad of [
      ["@batch=1 PRIVMSG #t a", "@batch=1 NOTICE #t b"],
      ["@batch=1 TOPIC #t :x"],
      ["@batch=1 PRIVMSG #t"],
    ]
  ) {
    const { ml, feed } = feeder();
    feed("BATCH +1 draft/multiline #t");
    const steps = bad.map(feed);
    assert.equal(failOf(steps[steps.length - 1]).code, "MULTILINE_INVALID", bad.join(" / "));
    assertEmpty(ml);
  }
});

Deno.test("FAIL MULTILINE_INVALID: a blank concat line, or only blank lines (testInvalidBlankConcatTag)", () => {
  const concat = feeder();
  concat.feed("BATCH +123 draft/multiline #test");
  concat.feed("@batch=123 PRIVMSG #test :hi");
  assert.equal(
    failOf(concat.feed("@batch=123;draft/multiline-concat PRIVMSG #test :")).code,
    "MULTILINE_INVALID",
  );
  assert.deepEqual(concat.feed("BATCH -123"), HELD);

  const blank = feeder();
  blank.feed("BATCH +b draft/multiline #test");
  blank.feed("@batch=b PRIVMSG #test :");
  blank.feed("@batch=b PRIVMSG #test :");
  assert.deepEqual(failOf(blank.feed("BATCH -b")), {
    code: "MULTILINE_INVALID",
    context: [],
    description: "A multiline message cannot be blank",
    label: undefined,
  });
  assertEmpty(blank.ml);

  const empty = feeder();
  empty.feed("BATCH +e draft/multiline #test");
  assert.equal(failOf(empty.feed("BATCH -e")).code, "MULTILINE_INVALID", "no lines at all");
});

Deno.test("FAIL MULTILINE_MAX_LINES <n> at the first line over (testLineLimit)", () => {
  const { ml, feed } = feeder({ maxBytes: 4096, maxLines: 32 });
  feed("BATCH +123 draft/multiline #test");
  for (let i = 0; i < 32; i++) assert.deepEqual(feed("@batch=123 PRIVMSG #test hi"), HELD);
  assert.deepEqual(failOf(feed("@batch=123 PRIVMSG #test hi")), {
    code: "MULTILINE_MAX_LINES",
    context: ["32"],
    description: "Multiline batch max-lines exceeded",
    label: undefined,
  });
  assertEmpty(ml);
  assert.deepEqual(feed("@batch=123 PRIVMSG #test hi"), HELD);
  assert.deepEqual(feed("BATCH -123"), HELD);
});

Deno.test("FAIL MULTILINE_MAX_BYTES <n>: text plus one byte per \\n join (testByteLimit)", () => {
  const { ml, feed } = feeder({ maxBytes: 4096, maxLines: 100 });
  feed("BATCH +234 draft/multiline #test");
  // 10 × 400 + 9 joins = 4009 ≤ 4096; the 11th line makes 4410.
  for (let i = 0; i < 10; i++) {
    assert.deepEqual(feed("@batch=234 PRIVMSG #test " + "x".repeat(400)), HELD);
  }
  assert.equal(ml.bufferedBytes, 4009);
  assert.deepEqual(failOf(feed("@batch=234 PRIVMSG #test " + "x".repeat(400))), {
    code: "MULTILINE_MAX_BYTES",
    context: ["4096"],
    description: "Multiline batch max-bytes exceeded",
    label: undefined,
  });
  assertEmpty(ml);

  // Exactly at the limit passes: concat joins cost nothing, \n joins one byte, bytes not chars.
  const exact = feeder({ maxBytes: 10, maxLines: 100 });
  exact.feed("BATCH +x draft/multiline #t");
  exact.feed("@batch=x PRIVMSG #t :éé"); // 4
  exact.feed("@batch=x;draft/multiline-concat PRIVMSG #t :ab"); // 6
  exact.feed("@batch=x PRIVMSG #t :abc"); // 6 + 1 + 3 = 10
  const done = exact.feed("BATCH -x");
  assert.equal(done.kind, "message");
  const over = feeder({ maxBytes: 10, maxLines: 100 });
  over.feed("BATCH +x draft/multiline #t");
  over.feed("@batch=x PRIVMSG #t :ééé"); // 6
  assert.equal(failOf(over.feed("@batch=x PRIVMSG #t :abcd")).code, "MULTILINE_MAX_BYTES");
});

Deno.test("one open batch per connection: a second BATCH + drops both", () => {
  const { ml, feed } = feeder();
  feed("BATCH +one draft/multiline #t");
  feed("@batch=one PRIVMSG #t a");
  assert.equal(failOf(feed("BATCH +two draft/multiline #t")).code, "MULTILINE_INVALID");
  assertEmpty(ml);
  assert.deepEqual(feed("@batch=one PRIVMSG #t b"), HELD);
  assert.deepEqual(feed("@batch=two PRIVMSG #t b"), HELD);
  assert.deepEqual(feed("BATCH -two"), HELD);
  assert.deepEqual(feed("BATCH -one"), HELD);
  // A fresh batch works afterwards.
  feed("BATCH +three draft/multiline #t");
  feed("@batch=three PRIVMSG #t ok");
  assert.equal(feed("BATCH -three").kind, "message");
});

Deno.test("other batch types, stray lines and short BATCH commands", () => {
  const { ml, feed } = feeder();
  assert.deepEqual(failOf(feed("BATCH +9 chathistory #t")), {
    code: "MULTILINE_INVALID",
    context: [],
    description: "Unsupported batch type",
    label: undefined,
  });
  assert.deepEqual(feed("@batch=9 PRIVMSG #t x"), HELD, "lines of the refused batch ignored");
  assert.equal(failOf(feed("@batch=nope PRIVMSG #t x")).code, "MULTILINE_INVALID");
  assert.equal(failOf(feed("BATCH -nope")).code, "MULTILINE_INVALID");
  assert.deepEqual(feed("BATCH"), { kind: "need_more_params" });
  assert.deepEqual(feed("BATCH +1"), { kind: "need_more_params" });
  assert.deepEqual(feed("BATCH +1 draft/multiline"), { kind: "need_more_params" });
  assert.equal(failOf(feed("BATCH x1 draft/multiline #t")).code, "MULTILINE_INVALID");
  assert.equal(
    failOf(feed(`BATCH +${"i".repeat(65)} draft/multiline #t`)).code,
    "MULTILINE_INVALID",
    "an id past IRC_BATCH_ID_MAX_BYTES is refused, not kept",
  );
  assertEmpty(ml);
});

Deno.test("memory stays bounded: a batch never closed holds at most max-bytes", () => {
  const { ml, feed } = feeder({ maxBytes: 1000, maxLines: 1000 });
  feed("BATCH +big draft/multiline #t");
  let failed = false;
  for (let i = 0; i < 100 && !failed; i++) {
    failed = feed("@batch=big PRIVMSG #t " + "y".repeat(400)).kind === "fail";
    assert.ok(ml.bufferedBytes <= 1000);
  }
  assert.ok(failed);
  assertEmpty(ml);
});
