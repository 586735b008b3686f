// Reading the Secrets a spec names, in the object's namespace. A missing Secret or key is a
// typed error whose message names namespace/name/key and the spec field that refers to it; a
// value never appears in any message.
import type { SecretKeyRef, SecretReader } from "../storage/config.ts";
import type { Kube } from "./client.ts";
import { httpCode } from "./client.ts";

export class SecretError extends Error {
  readonly reason: "SecretNotFound" | "SecretKeyNotFound" | "SecretForbidden";
  override name = "SecretError";
  constructor(reason: SecretError["reason"], message: string) {
    super(message);
    this.reason = reason;
  }
}

export function secretReader(kube: Kube, namespace: string): SecretReader {
  const cache = new Map<string, Promise<Record<string, string>>>();
  const load = (name: string) => {
    let data = cache.get(name);
    if (!data) {
      data = kube.core.readNamespacedSecret({ namespace, name }).then((s) => s.data ?? {});
      cache.set(name, data);
    }
    return data;
  };
  return async ({ field, secretName, key }: SecretKeyRef) => {
    let data: Record<string, string>;
    try {
      data = await load(secretName);
    } catch (err) {
      const code = httpCode(err);
      if (code === 404) throw new SecretError("SecretNotFound", `${field}: Secret ${namespace}/${secretName} not found`);
      if (code === 403)
        throw new SecretError("SecretForbidden", `${field}: not allowed to read Secret ${namespace}/${secretName}`);
      throw err;
    }
    const value = data[key];
    if (value === undefined) {
      throw new SecretError("SecretKeyNotFound", `${field}: Secret ${namespace}/${secretName} has no key "${key}"`);
    }
    return Buffer.from(value, "base64").toString("utf8");
  };
}
