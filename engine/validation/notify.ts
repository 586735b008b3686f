// The HTTP the validation makes: custom webhook checks, and failure notifications to Slack and
// PagerDuty (Events API v2). A URL or routing key may itself be a credential, so none of them is
// ever put in an error message, a log line or a report: errors say what failed, not where.

export const defaultPagerDutyEventsUrl = "https://events.pagerduty.com/v2/enqueue";

/** The PagerDuty endpoint: PAGERDUTY_EVENTS_URL overrides it (a proxy, a test receiver). */
export const pagerDutyEventsUrl = (env = process.env) => env.PAGERDUTY_EVENTS_URL || defaultPagerDutyEventsUrl;

/** A URL without user info, query or fragment: what may be shown of a webhook. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return "(invalid URL)";
  }
}

/** An error's cause in words that never contain the URL (fetch errors can quote it). */
function failureOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string } }).cause;
  if (cause?.code) return cause.code;
  const name = (err as Error).name;
  return name === "TypeError" ? "network error" : name || "error";
}

export type HttpOutcome = { status: number; body: string } | { error: string; timedOut: boolean };

export async function postJson(url: string, body: unknown, timeoutMs: number, signal?: AbortSignal): Promise<HttpOutcome> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "kafka-backup-operator" },
      body: JSON.stringify(body),
      signal: combined,
      redirect: "manual",
    });
    const text = await res.text().catch(() => "");
    return { status: res.status, body: text.slice(0, 4096) };
  } catch (err) {
    if (timeout.aborted) return { error: `no answer within ${timeoutMs} ms`, timedOut: true };
    if (signal?.aborted) return { error: "cancelled", timedOut: false };
    return { error: failureOf(err), timedOut: false };
  }
}

export interface FailureNotice {
  namespace?: string;
  name: string;
  backupId: string;
  result: string;
  summary: string;
  failedChecks: Array<{ checkName: string; message: string }>;
  evidencePath?: string;
}

/** Slack incoming webhook: a text message. Throws with a message naming no URL. */
export async function notifySlack(webhookUrl: string, n: FailureNotice, timeoutMs = 10_000): Promise<void> {
  const who = n.namespace ? `${n.namespace}/${n.name}` : n.name;
  const lines = [
    `:rotating_light: Kafka backup validation *${who}* — result *${n.result}* for backup \`${n.backupId}\``,
    n.summary,
    ...n.failedChecks.map((c) => `• ${c.checkName}: ${c.message.slice(0, 500)}`),
    ...(n.evidencePath ? [`Evidence: ${n.evidencePath}`] : []),
  ];
  const out = await postJson(webhookUrl, { text: lines.join("\n") }, timeoutMs);
  if ("error" in out) throw new Error(`Slack notification failed: ${out.error}`);
  if (out.status < 200 || out.status >= 300) throw new Error(`Slack notification failed: HTTP ${out.status}`);
}

/** PagerDuty Events API v2: trigger on failure, resolve (same dedup key) when it passes again. */
export async function notifyPagerDuty(
  routingKey: string,
  action: "trigger" | "resolve",
  n: FailureNotice,
  severity: string,
  opts: { url?: string; timeoutMs?: number } = {},
): Promise<void> {
  const who = n.namespace ? `${n.namespace}/${n.name}` : n.name;
  const body = {
    routing_key: routingKey,
    event_action: action,
    dedup_key: `kafka-backup-validation/${who}`,
    ...(action === "trigger"
      ? {
          payload: {
            summary: `Kafka backup validation ${who}: ${n.result} for backup ${n.backupId}`.slice(0, 1024),
            source: who,
            severity,
            component: "kafka-backup-operator",
            group: "kafka-backup-validation",
            custom_details: {
              backupId: n.backupId,
              result: n.result,
              summary: n.summary,
              failedChecks: n.failedChecks,
              ...(n.evidencePath ? { evidencePath: n.evidencePath } : {}),
            },
          },
        }
      : {}),
  };
  const out = await postJson(opts.url ?? pagerDutyEventsUrl(), body, opts.timeoutMs ?? 10_000);
  if ("error" in out) throw new Error(`PagerDuty notification failed: ${out.error}`);
  if (out.status !== 202 && (out.status < 200 || out.status >= 300))
    throw new Error(`PagerDuty notification failed: HTTP ${out.status}`);
}
