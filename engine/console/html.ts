// HTML built one way: a tagged template that escapes every value put into it, unless the value is
// itself HTML built here. Nothing from a manifest, a form or an error message reaches a page
// unescaped.

export class Html {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  toString(): string {
    return this.text;
  }
}

const entities: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => entities[c] ?? c);
}

function part(value: unknown): string {
  if (value === undefined || value === null || value === false) return "";
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(part).join("");
  return escapeHtml(String(value));
}

/** `html\`<td>${value}</td>\``: values escaped; Html values and arrays of them kept; null, undefined and false dropped. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0] ?? "";
  values.forEach((v, i) => {
    out += part(v) + (strings[i + 1] ?? "");
  });
  return new Html(out);
}

/** A query string from parameters (repeated keys for arrays), for links. */
export function query(params: Record<string, string | string[] | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) q.append(k, one);
  }
  const text = q.toString();
  return text ? `?${text}` : "";
}

export const formatBytes = (n: number): string => {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
};

export const formatCount = (n: number): string => n.toLocaleString("en-US");

/** UTC, to the second: the form a KafkaRestore's pitr takes. */
export const formatTime = (ms: number | undefined): string =>
  ms === undefined ? "" : new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

/** An instant exactly, for form values and links: to the second when that loses nothing, else to the millisecond. */
export const formatInstant = (ms: number): string => (ms % 1000 === 0 ? formatTime(ms) : new Date(ms).toISOString());

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 120) return `${m} min`;
  const h = m / 60;
  if (h < 48) return `${h.toFixed(1)} h`;
  return `${(h / 24).toFixed(1)} days`;
}
