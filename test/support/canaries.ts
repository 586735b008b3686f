// Searching for leaked Secret values. A test puts distinctive canary values in the Secrets its
// resources use, collects every place a value could end up (controller logs and metrics, status,
// Events, ConfigMaps, stored reports and evidence), each with a value known to be in it, and
// asserts that no canary appears in any place: as written, base64-encoded (a Secret's `data`) or
// URL-encoded.
import assert from "node:assert/strict";
import type { StorageBackend } from "../../engine/storage/backend.ts";
import type { RunningController } from "./kube.ts";

/** The forms a leaked value can take. */
function forms(value: string): string[] {
  return [...new Set([value, Buffer.from(value, "utf8").toString("base64"), encodeURIComponent(value)])];
}

export class LeakSearch {
  readonly places = new Map<string, string>();

  /**
   * Adds a place to search. `known` is a value the place must contain: the positive control that
   * the text was really captured and that a value present in it is found.
   */
  add(place: string, text: string, known: string): void {
    assert.ok(!this.places.has(place), `${place} added twice`);
    assert.ok(known.length > 0 && text.includes(known), `positive control: ${JSON.stringify(known)} not found in ${place}`);
    this.places.set(place, text);
  }

  /** A controller's logs and /metrics output (`component` names it in the places). */
  async addController(component: string, controller: RunningController, knownInLogs: string): Promise<void> {
    this.add(`${component} logs`, controller.logs(), knownInLogs);
    const metrics = await (await fetch(`http://127.0.0.1:${controller.metricsPort}/metrics`)).text();
    this.add(`${component} metrics`, metrics, "kafka_backup_operator_reconciliations_total");
  }

  /** Every object under `prefix` of a store, listed and read; returns how many. */
  async addStoredObjects(label: string, store: StorageBackend, prefix = ""): Promise<number> {
    let n = 0;
    for await (const e of store.list(prefix)) {
      if (e.type !== "object") continue;
      // latin1 keeps every byte, so a value stored as text in a binary object is still found.
      this.places.set(`${label}:${e.key}`, (await store.getBuffer(e.key)).body.toString("latin1"));
      n++;
    }
    return n;
  }

  /** Asserts that no canary appears in any place; returns the figure line. */
  assertNone(canaries: Record<string, string>): string {
    assert.ok(this.places.size > 0, "no place to search");
    for (const [what, value] of Object.entries(canaries)) {
      assert.ok(value.length >= 16, `${what} canary is distinctive (${value.length} characters)`);
      for (const form of forms(value))
        for (const [place, text] of this.places) assert.ok(!text.includes(form), `${what} found in ${place}`);
    }
    return `canaries: ${Object.keys(canaries).length} values × ${this.places.size} places searched, 0 found`;
  }
}
