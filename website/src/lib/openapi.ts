// The API reference's source: ui/src/api/openapi.json, the committed copy of what `mipo openapi`
// prints (openapi_test.go fails when it is stale). Operations are grouped by their first tag.
import spec from '../../../ui/src/api/openapi.json';
import { slugify } from './slug';

export const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

export interface Schema {
  $ref?: string;
  type?: string | string[];
  format?: string;
  description?: string;
  enum?: unknown[];
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: Schema | boolean;
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
}

export interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  description?: string;
  schema?: Schema;
}

interface Media {
  schema?: Schema;
}

export interface Operation {
  method: string;
  path: string;
  id: string;
  tag: string;
  summary: string;
  description?: string;
  scope?: string;
  public: boolean;
  parameters: Parameter[];
  body?: Schema;
  bodyType?: string;
  responses: { status: string; description: string; schema?: Schema; type?: string }[];
}

type Doc = { paths: Record<string, Record<string, any>>; components?: { schemas?: Record<string, Schema> }; info?: { version?: string } };
const doc = spec as unknown as Doc;

export const schemas: Record<string, Schema> = doc.components?.schemas ?? {};

function firstMedia(content?: Record<string, Media>): { type?: string; schema?: Schema } {
  const [type, media] = Object.entries(content ?? {})[0] ?? [];
  return { type, schema: media?.schema };
}

export const operations: Operation[] = Object.entries(doc.paths).flatMap(([path, item]) =>
  METHODS.filter((m) => item[m]).map((m) => {
    const op = item[m];
    const body = firstMedia(op.requestBody?.content);
    return {
      method: m.toUpperCase(),
      path,
      id: op.operationId ?? slugify(`${m} ${path}`),
      tag: op.tags?.[0] ?? 'other',
      summary: op.summary ?? '',
      description: op.description,
      scope: op['x-mipo-scope'],
      public: !op.security?.length,
      parameters: [...(item.parameters ?? []), ...(op.parameters ?? [])],
      body: body.schema,
      bodyType: body.type,
      responses: Object.entries(op.responses ?? {}).map(([status, r]: [string, any]) => ({
        status,
        description: r.description ?? '',
        ...firstMedia(r.content),
      })),
    };
  }),
);

export const tags: string[] = [...new Set(operations.map((o) => o.tag))].sort();

export function tagUrl(tag: string): string {
  return `/docs/api/${slugify(tag)}/`;
}

export function tagSlug(tag: string): string {
  return slugify(tag);
}

export function operationUrl(o: Operation): string {
  return `${tagUrl(o.tag)}#${o.id}`;
}

/** Finds the operation a help file's API line names ("GET /api/v1/users"), if the document has it. */
export function operationFor(line: string): Operation | undefined {
  const [method, path] = line.trim().split(/\s+/);
  return operations.find((o) => o.method === method?.toUpperCase() && o.path === path?.split('?')[0]);
}

/** A schema's anchor on /docs/api/schemas/. */
export function schemaId(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]+/g, '-');
}

export function schemaUrl(name: string): string {
  return `/docs/api/schemas/#${schemaId(name)}`;
}

export function refName(ref: string): string {
  return ref.replace('#/components/schemas/', '');
}

export function resolve(s?: Schema): Schema | undefined {
  return s?.$ref ? schemas[refName(s.$ref)] : s;
}

/** A short type name for a schema: "string (uuid)", "array of audit.AuditRecord", "object". */
export function typeName(s?: Schema): string {
  if (!s) return '';
  if (s.$ref) return refName(s.$ref);
  const t = Array.isArray(s.type) ? s.type.filter((x) => x !== 'null').join(' | ') : s.type;
  if (t === 'array') return `array of ${typeName(s.items)}`;
  if (s.oneOf || s.anyOf) return (s.oneOf ?? s.anyOf ?? []).map(typeName).join(' | ');
  if (s.enum) return `${t ?? 'string'}: ${s.enum.map((e) => JSON.stringify(e)).join(', ')}`;
  return s.format ? `${t} (${s.format})` : (t ?? 'any');
}

export const apiVersion = doc.info?.version;
