// How V8 collects a process that moves buffers, as a choice between memory and CPU. Every Buffer
// above a few KiB is an ArrayBuffer of its own, counted as external memory; by default V8 gives
// external memory a limit of its own, a few tens of MiB above what the last full collection left,
// and starts a full collection each time it is crossed. A backup moving 1 GiB allocates several GiB
// of short-lived buffers, so it runs ~200 full collections of a 14 MiB heap. With
// `KBO_GC=throughput` external memory counts in V8's global limit instead (heap and external
// together; the buffers then mostly die in cheap young-generation collections): about 45 % less
// user CPU per GiB backed up, for 50–130 MiB more peak RSS (docs/performance.md, "Garbage
// collection"). The default stays V8's: memory limits are the harder constraint in a pod.
import { setFlagsFromString } from "node:v8";

let tuned = false;

/** Applies `KBO_GC` once, from the runs that move data (backup, restore). */
export function tuneHeapForBuffers(): void {
  if (tuned) return;
  tuned = true;
  if (process.env.KBO_GC === "throughput") setFlagsFromString("--external-memory-accounted-in-global-limit");
}
