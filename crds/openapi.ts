// A small typed builder for the OpenAPI v3 schemas of our CRDs. A schema built here is a plain
// object in the shape the API server reads (`JSONSchemaProps`), so the CRD YAML is just its
// serialisation; the TypeScript types are generated from the same objects (render.ts). Every
// builder takes the description first: `kubectl explain` is the user's manual.

export type SchemaType = "object" | "array" | "string" | "integer" | "number" | "boolean";

/** One `x-kubernetes-validations` entry: a CEL rule and a message that names the field to fix. */
export interface Rule {
  rule: string;
  message?: string;
  messageExpression?: string;
  /** Where the error points, relative to the object carrying the rule (e.g. `.tlsSecret`). */
  fieldPath?: string;
  reason?: "FieldValueInvalid" | "FieldValueForbidden" | "FieldValueRequired" | "FieldValueDuplicate";
}

export interface Schema {
  type?: SchemaType;
  description?: string;
  format?: string;
  enum?: readonly (string | number)[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: Schema;
  anyOf?: Schema[];
  "x-kubernetes-int-or-string"?: true;
  "x-kubernetes-preserve-unknown-fields"?: true;
  "x-kubernetes-list-type"?: "atomic" | "set" | "map";
  "x-kubernetes-list-map-keys"?: string[];
  "x-kubernetes-validations"?: Rule[];
}

// The TypeScript name of an object schema (render.ts emits an interface for it). Kept beside the
// schema instead of inside it, so the YAML carries nothing but OpenAPI.
const typeNames = new WeakMap<Schema, string>();

export function named<T extends Schema>(name: string, schema: T): T {
  typeNames.set(schema, name);
  return schema;
}

/** The same schema with another description (a shared block used with a different meaning). */
export function describe<T extends Schema>(schema: T, description: string): T {
  const copy = { ...schema, description };
  const name = typeNames.get(schema);
  if (name) typeNames.set(copy, name);
  return copy;
}

export function typeName(schema: Schema): string | undefined {
  return typeNames.get(schema);
}

export function rule(expression: string, message: string, extra: Omit<Rule, "rule" | "message"> = {}): Rule {
  return { rule: expression, message, ...extra };
}

interface Common {
  rules?: Rule[];
}

function withRules(schema: Schema, rules: Rule[] | undefined): Schema {
  if (rules?.length) schema["x-kubernetes-validations"] = rules;
  return schema;
}

export interface StringOptions extends Common {
  default?: string;
  enum?: readonly string[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  format?: "date-time" | "date" | "byte" | "uri";
}

export function string(description: string, o: StringOptions = {}): Schema {
  const { rules, ...rest } = o;
  return withRules({ type: "string", description, ...rest }, rules);
}

export function dateTime(description: string): Schema {
  return { type: "string", format: "date-time", description };
}

export interface IntegerOptions extends Common {
  default?: number;
  minimum?: number;
  maximum?: number;
  enum?: readonly number[];
  format?: "int32" | "int64";
}

export function integer(description: string, o: IntegerOptions = {}): Schema {
  const { rules, format, ...rest } = o;
  return withRules({ type: "integer", format: format ?? "int64", description, ...rest }, rules);
}

export function int32(description: string, o: IntegerOptions = {}): Schema {
  return integer(description, { ...o, format: "int32" });
}

export interface NumberOptions {
  default?: number;
  minimum?: number;
  maximum?: number;
}

export function number(description: string, o: NumberOptions = {}): Schema {
  return { type: "number", format: "double", description, ...o };
}

export function boolean(description: string, o: { default?: boolean } = {}): Schema {
  return { type: "boolean", description, ...o };
}

export interface ObjectOptions extends Common {
  required?: string[];
  default?: Record<string, unknown>;
  minProperties?: number;
}

export function object(description: string, properties: Record<string, Schema>, o: ObjectOptions = {}): Schema {
  const { rules, required, ...rest } = o;
  for (const r of required ?? []) {
    if (!(r in properties)) throw new Error(`schema "${description}": required field ${r} is not a property`);
  }
  return withRules({ type: "object", description, properties, ...(required?.length ? { required } : {}), ...rest }, rules);
}

export interface ArrayOptions extends Common {
  default?: unknown[];
  minItems?: number;
  maxItems?: number;
  listType?: "atomic" | "set" | "map";
  listMapKeys?: string[];
}

export function array(description: string, items: Schema, o: ArrayOptions = {}): Schema {
  const { rules, listType, listMapKeys, ...rest } = o;
  const schema: Schema = { type: "array", description, items, ...rest };
  if (listType) schema["x-kubernetes-list-type"] = listType;
  if (listMapKeys) schema["x-kubernetes-list-map-keys"] = listMapKeys;
  return withRules(schema, rules);
}

export interface MapOptions extends Common {
  default?: Record<string, unknown>;
  maxProperties?: number;
}

/** A map with string keys (YAML object with arbitrary keys) and typed values. */
export function map(description: string, values: Schema, o: MapOptions = {}): Schema {
  const { rules, ...rest } = o;
  return withRules({ type: "object", description, additionalProperties: values, ...rest }, rules);
}

/** A Kubernetes quantity or any other value that may be an integer or a string ("500m", 2). */
export function intOrString(description: string, o: { pattern?: string } = {}): Schema {
  return {
    description,
    "x-kubernetes-int-or-string": true,
    anyOf: [{ type: "integer" }, { type: "string" }],
    ...o,
  };
}

/** A genuinely free-form object: the API server keeps whatever is inside. Use sparingly. */
export function freeform(description: string): Schema {
  return { type: "object", description, "x-kubernetes-preserve-unknown-fields": true };
}

/** Every place in a schema, with its path, for tests and generators. */
export function* walk(schema: Schema, path = ""): Generator<[string, Schema]> {
  yield [path, schema];
  for (const [key, child] of Object.entries(schema.properties ?? {})) yield* walk(child, path ? `${path}.${key}` : key);
  if (schema.items) yield* walk(schema.items, `${path}[]`);
  if (schema.additionalProperties) yield* walk(schema.additionalProperties, `${path}{}`);
}
