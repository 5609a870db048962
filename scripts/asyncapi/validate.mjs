// Validate an AsyncAPI document with the AsyncAPI project's own parser: the
// specification's JSON Schema plus its semantic rules (references resolve,
// operations point at their channel's messages). That examples match their
// payloads is checked by the Python tests (tests/test_protocol_document.py).
// Usage: node validate.mjs <document.json>. Exit 1 on any error or warning.
import { readFile } from "node:fs/promises";
import { Parser } from "@asyncapi/parser";

const SEVERITY = ["error", "warning", "information", "hint"];
const path = process.argv[2];
if (!path) {
  console.error("usage: node validate.mjs <document.json>");
  process.exit(2);
}
const { document, diagnostics } = await new Parser().parse(await readFile(path, "utf8"));
const serious = diagnostics.filter((d) => d.severity <= 1);
for (const d of diagnostics) {
  console.log(`${SEVERITY[d.severity]} ${d.code} at /${d.path.join("/")}: ${d.message}`);
}
if (!document || serious.length) {
  process.exit(1);
}
console.log(`valid: ${document.channels().length} channels, ${document.messages().length} messages`);
