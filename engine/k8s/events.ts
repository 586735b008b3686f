// Kubernetes Events for each lifecycle step of an object, as `kubectl describe` shows them.
// An Event that cannot be written is logged, never fatal.
import type { Logger } from "../log.ts";
import type { Kube } from "./client.ts";
import type { CustomResource } from "./resource.ts";

export type EventType = "Normal" | "Warning";

export class EventRecorder {
  private readonly kube: Kube;
  private readonly component: string;
  private readonly log: Logger;

  constructor(kube: Kube, component: string, log: Logger) {
    this.kube = kube;
    this.component = component;
    this.log = log;
  }

  async record(o: CustomResource, type: EventType, reason: string, message: string): Promise<void> {
    const now = new Date().toISOString();
    const { namespace, name, uid, resourceVersion } = o.metadata;
    try {
      await this.kube.core.createNamespacedEvent({
        namespace,
        body: {
          metadata: { generateName: `${name}.`, namespace },
          involvedObject: { apiVersion: o.apiVersion, kind: o.kind, name, namespace, uid, resourceVersion },
          type,
          reason,
          message: message.slice(0, 1024),
          source: { component: this.component },
          reportingComponent: this.component,
          reportingInstance: process.env.HOSTNAME ?? this.component,
          firstTimestamp: now as unknown as Date,
          lastTimestamp: now as unknown as Date,
          count: 1,
        },
      });
    } catch (err) {
      this.log.warn({ namespace, name, reason, err: (err as Error).message }, "could not record an event");
    }
  }
}
