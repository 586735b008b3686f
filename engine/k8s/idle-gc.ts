// V8 collects garbage as it allocates, so a controller that goes quiet after a burst of
// reconciles keeps that burst's garbage — and the native memory its objects hold — until the
// next burst: 170 or 480 MiB for the same idle state, depending on when the last collection ran.
// A full collection when the work queue empties returns it. It needs `--expose-gc` (the
// containers' flags, infra/controllers.ts); without it this does nothing.
//
// A collection alone frees V8's pages but keeps them in V8's page pool, mapped and resident
// (~50 MiB after settling 1,000 KafkaBackups). V8 gives the pool back only in its memory-saving
// mode (--optimize-for-size), which also costs a backup or restore 20–45 % more CPU. So an idle
// controller is in that mode and a process running long work is not: the mode goes on with the
// idle collection and off when work starts (docs/performance.md, issue #20).
import { setFlagsFromString } from "node:v8";

type GcFunction = (options?: { type?: "major" | "minor"; execution?: "sync" | "async" }) => Promise<void> | undefined;

let saving = false;

/** V8's memory-saving mode on (idle) or off (long work runs). */
export function saveMemory(on: boolean): void {
  if (on === saving) return;
  saving = on;
  setFlagsFromString(on ? "--optimize-for-size" : "--no-optimize-for-size");
}

export const savingMemory = () => saving;

/** At most one collection per `intervalMs`, and none while long work (a backup, a restore) runs. */
export function idleCollector(busy: () => boolean, intervalMs = 10_000): () => void {
  const gc = (globalThis as { gc?: GcFunction }).gc;
  let last = 0;
  let timer: NodeJS.Timeout | undefined;
  return () => {
    if (!gc || timer || busy()) return;
    const wait = Math.max(0, last + intervalMs - Date.now());
    timer = setTimeout(() => {
      timer = undefined;
      if (busy()) return;
      last = Date.now();
      saveMemory(true);
      void gc({ type: "major", execution: "async" });
    }, wait);
    timer.unref();
  };
}
