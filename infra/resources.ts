// Typed custom resources for Pulumi programs: `new KafkaBackup("nightly", { metadata, spec })`
// type-checks the spec against the same schema source as the CRDs (crds/generated/types.ts).
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import {
  apiVersion,
  type KafkaBackupSpec,
  type KafkaBackupValidationSpec,
  type KafkaOffsetResetSpec,
  type KafkaOffsetRollbackSpec,
  type KafkaRestoreSpec,
} from "../crds/generated/types.ts";

export interface KafkaResourceArgs<Spec> {
  metadata?: pulumi.Input<k8s.types.input.meta.v1.ObjectMeta>;
  spec: pulumi.Input<Spec>;
}

function customResourceArgs<Spec>(kind: string, args: KafkaResourceArgs<Spec>): k8s.apiextensions.CustomResourceArgs {
  if (!args || args.spec === undefined || args.spec === null) throw new Error(`${kind}: args.spec is required`);
  return { apiVersion, kind, metadata: args.metadata, spec: args.spec };
}

export class KafkaBackup extends k8s.apiextensions.CustomResource {
  constructor(name: string, args: KafkaResourceArgs<KafkaBackupSpec>, opts?: pulumi.CustomResourceOptions) {
    super(name, customResourceArgs("KafkaBackup", args), opts);
  }
}

export class KafkaRestore extends k8s.apiextensions.CustomResource {
  constructor(name: string, args: KafkaResourceArgs<KafkaRestoreSpec>, opts?: pulumi.CustomResourceOptions) {
    super(name, customResourceArgs("KafkaRestore", args), opts);
  }
}

export class KafkaOffsetReset extends k8s.apiextensions.CustomResource {
  constructor(name: string, args: KafkaResourceArgs<KafkaOffsetResetSpec>, opts?: pulumi.CustomResourceOptions) {
    super(name, customResourceArgs("KafkaOffsetReset", args), opts);
  }
}

export class KafkaOffsetRollback extends k8s.apiextensions.CustomResource {
  constructor(name: string, args: KafkaResourceArgs<KafkaOffsetRollbackSpec>, opts?: pulumi.CustomResourceOptions) {
    super(name, customResourceArgs("KafkaOffsetRollback", args), opts);
  }
}

export class KafkaBackupValidation extends k8s.apiextensions.CustomResource {
  constructor(name: string, args: KafkaResourceArgs<KafkaBackupValidationSpec>, opts?: pulumi.CustomResourceOptions) {
    super(name, customResourceArgs("KafkaBackupValidation", args), opts);
  }
}
