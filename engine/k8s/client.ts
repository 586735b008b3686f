// The API server connection: in cluster (service account) or out of cluster (KUBECONFIG), and the
// few typed clients the runtime uses. HTTP errors are client-node ApiExceptions with a `code`.
import {
  ApiException,
  BatchV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";

export interface Kube {
  config: KubeConfig;
  core: CoreV1Api;
  objects: CustomObjectsApi;
  coordination: CoordinationV1Api;
  /** Worker Jobs (execution.mode job). */
  batch: BatchV1Api;
}

export function connectKube(kubeconfigPath = process.env.KUBECONFIG): Kube {
  const config = new KubeConfig();
  if (kubeconfigPath) config.loadFromFile(kubeconfigPath);
  else config.loadFromDefault();
  return {
    config,
    core: config.makeApiClient(CoreV1Api),
    objects: config.makeApiClient(CustomObjectsApi),
    coordination: config.makeApiClient(CoordinationV1Api),
    batch: config.makeApiClient(BatchV1Api),
  };
}

export const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

export function httpCode(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

/** A short description of an API error for logs and conditions (never a request body). */
export function apiErrorMessage(err: unknown): string {
  if (err instanceof ApiException) {
    try {
      const body = JSON.parse(String(err.body)) as { message?: string };
      return `HTTP ${err.code}: ${body.message ?? "error"}`;
    } catch {
      return `HTTP ${err.code}`;
    }
  }
  return err instanceof Error ? err.message : String(err);
}
