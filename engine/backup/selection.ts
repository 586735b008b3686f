// Which topics a backup takes: literal names (the existing operator's `topics` list), plus
// include/exclude patterns as globs (`orders-*`, `?`) or regular expressions (`~^orders-\d+$`).
// Internal topics (`__consumer_offsets`, `__transaction_state`, `_schemas`-style names starting
// with `__`) are left out unless asked for.
import { TopicNotFoundError } from "../kafka/errors.ts";

export interface TopicSelection {
  /** Literal topic names; each must exist. */
  topics?: string[];
  include?: string[];
  exclude?: string[];
  includeInternal?: boolean;
}

export class SelectionError extends Error {
  readonly reason = "InvalidTopicSelection";
  override name = "SelectionError";
}

export function compilePattern(pattern: string, field: string): RegExp {
  if (pattern.startsWith("~")) {
    try {
      return new RegExp(pattern.slice(1));
    } catch (err) {
      throw new SelectionError(`${field}: "${pattern}" is not a valid regular expression: ${(err as Error).message}`);
    }
  }
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${escaped}$`);
}

export const isInternalTopic = (name: string) => name.startsWith("__");

/**
 * The selected topics among those the cluster has, sorted. Missing literal names are an error,
 * except those in `deleted`: topics a continuous set holds that were deleted under it (they end
 * in the set; the run goes on with the others). Errors name the KafkaBackup field (spec.topics,
 * spec.includeTopics[i], spec.excludeTopics[i]).
 */
export function selectTopics(available: readonly string[], selection: TopicSelection, deleted: readonly string[] = []): string[] {
  const present = new Set(available);
  const missing = (selection.topics ?? []).filter((t) => !present.has(t) && !deleted.includes(t));
  if (missing.length) {
    throw new TopicNotFoundError(`spec.topics: ${missing.map((t) => `"${t}"`).join(", ")} do not exist in the cluster`);
  }
  return available.filter(topicMatcher(selection)).sort();
}

/** Whether the selection takes a topic of this name (present or not). */
export function topicMatcher(selection: TopicSelection): (topic: string) => boolean {
  const include = (selection.include ?? []).map((p, i) => compilePattern(p, `spec.includeTopics[${i}]`));
  const exclude = (selection.exclude ?? []).map((p, i) => compilePattern(p, `spec.excludeTopics[${i}]`));
  const literal = new Set(selection.topics ?? []);
  const noFilter = literal.size === 0 && include.length === 0;
  return (t) => {
    if (exclude.some((re) => re.test(t))) return false;
    if (literal.has(t)) return true;
    if (isInternalTopic(t) && !selection.includeInternal) return false;
    return noFilter || include.some((re) => re.test(t));
  };
}
