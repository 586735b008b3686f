// V8 collects garbage as it allocates, so a controller that goes quiet after a burst of
// reconciles keeps that burst's garbage — and the native memory its objects hold — until the
// next burst: 170 or 480 MiB for the same idle state, depending on when the last collection ran.
// A full collection when the work queue empties returns it. It needs `--expose-gc` (the
// containers' flags, infra/controllers.ts); without it this does nothing.
type GcFunction = (options?: { type?: "major" | "minor"; execution?: "sync" | "async" }) => Promise<void> | undefined;

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
      void gc({ type: "major", execution: "async" });
    }, wait);
    timer.unref();
  };
}
