// The Pulumi program `Pulumi.yaml` runs: the operator, configured by the stack's config
// (Pulumi.example.yaml lists every key). Platform stacks import the component instead:
// infra/operator.ts, infra/resources.ts.
import * as pulumi from "@pulumi/pulumi";
import { operatorControllers } from "./controllers.ts";
import { KafkaBackupOperator, type KafkaBackupOperatorArgs } from "./operator.ts";

const config = new pulumi.Config();

/** `controllers` picks a subset of the five by name (default all). */
function controllers(): KafkaBackupOperatorArgs["controllers"] {
  const names = config.getObject<string[]>("controllers");
  if (!names) return undefined;
  const unknown = names.filter((n) => !operatorControllers.some((c) => c.name === n));
  if (unknown.length) {
    throw new Error(
      `config controllers: unknown ${unknown.join(", ")}; known: ${operatorControllers.map((c) => c.name).join(", ")}`,
    );
  }
  return operatorControllers.filter((c) => names.includes(c.name));
}

const operator = new KafkaBackupOperator("kafka-backup-operator", {
  image: config.require("image"),
  imagePullPolicy: config.get("imagePullPolicy") as KafkaBackupOperatorArgs["imagePullPolicy"],
  imagePullSecrets: config.getObject<string[]>("imagePullSecrets"),
  namespace: config.get("namespace"),
  createNamespace: config.getBoolean("createNamespace"),
  installCrds: config.getBoolean("installCrds"),
  watchNamespaces: config.getObject<string[]>("watchNamespaces"),
  controllers: controllers(),
  replicas: config.getNumber("replicas"),
  resources: config.getObject("resources"),
  logLevel: config.get("logLevel") as KafkaBackupOperatorArgs["logLevel"],
  metricsPort: config.getNumber("metricsPort"),
  leaderElection: config.getObject("leaderElection"),
  serviceMonitor: config.getObject("serviceMonitor"),
  podDisruptionBudget: config.getObject("podDisruptionBudget"),
  grafanaDashboard: config.getObject("grafanaDashboard"),
  console: config.getObject("console"),
  pvcClaims: config.getObject<string[]>("pvcClaims"),
  env: config.getObject("env"),
  labels: config.getObject("labels"),
  keepCrds: config.getBoolean("keepCrds"),
  skipAwait: config.getBoolean("skipAwait"),
});

export const namespace = operator.namespace;
export const serviceAccounts = operator.serviceAccounts;
export const deployments = operator.deployments;
export const metricsService = operator.metricsService;
export const crds = operator.crds;
export const consoleService = operator.consoleService;
