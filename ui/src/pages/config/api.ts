// What every configuration page shares: the object families' types, deleting with the API's
// refusal shown as it is, and reading an object's history.
import { formatCount } from '../../lib/format';
import { api, call } from '../../api/client';
import type { paths } from '../../api/schema';
import type { Ok, Page } from '../../api/types';
import { act } from '../../lib/act';

type Get<P extends keyof paths> = Ok<P, 'get'>;

export type Subnet = Get<'/api/v1/subnets/{id}'>;
export type SubnetGroup = Get<'/api/v1/subnet-groups/{id}'>;
export type Exclusion = Get<'/api/v1/exclusions/{id}'>;
export type PortList = Get<'/api/v1/port-lists/{id}'>;
export type PortListGroup = Get<'/api/v1/port-list-groups/{id}'>;
export type Template = Get<'/api/v1/templates/{id}'>;
export type TemplateGroup = Get<'/api/v1/template-groups/{id}'>;
export type CatalogEntry = Get<'/api/v1/port-catalog'>['items'][number];
export type Ref = Subnet['refs'][number];
export type ScopeView = Get<'/api/v1/templates/{id}/scope'>;
export type VersionDiff = Get<'/api/v1/templates/{id}/diff'>;
/** A version of any object: its spec is shown field by field, whatever the family. */
export type Version = Omit<Get<'/api/v1/templates/{id}/versions'>['items'][number], 'spec'> & { spec: Record<string, unknown> };

/** The object families, as their API paths name them. */
export type Family = 'subnets' | 'subnet-groups' | 'exclusions' | 'port-lists' | 'port-list-groups' | 'templates' | 'template-groups';
export type GroupFamily = 'subnet-groups' | 'port-list-groups' | 'template-groups';

// Every family's history and deletion routes have the same shape, only the spec differs, so
// the templates' typed paths stand for all of them here.
const versionsPath = (f: Family) => `/api/v1/${f}/{id}/versions` as '/api/v1/templates/{id}/versions';
const diffPath = (f: Family) => `/api/v1/${f}/{id}/diff` as '/api/v1/templates/{id}/diff';
const onePath = (f: Family) => `/api/v1/${f}/{id}` as '/api/v1/templates/{id}';
// Creating and changing differ only in the body; the groups' forms build theirs from their fields.
const groupsPath = (f: GroupFamily) => `/api/v1/${f}` as '/api/v1/template-groups';
const groupPath = (f: GroupFamily) => `/api/v1/${f}/{id}` as '/api/v1/template-groups/{id}';

export async function versions(family: Family, id: string, cursor?: string): Promise<Page<Version>> {
  return (await call(api.GET(versionsPath(family), { params: { path: { id }, query: { limit: 100, cursor } } }))) as Page<Version>;
}

export function diff(family: Family, id: string, from: number, to: number): Promise<VersionDiff> {
  return call(api.GET(diffPath(family), { params: { path: { id }, query: { from, to } } }));
}

/** Creates a group (no id) or changes one: name, description and its members' ids by field. */
export async function saveGroup<G>(family: GroupFamily, id: string | undefined, body: { name: string; description: string } & Record<string, unknown>): Promise<G> {
  const b = body as never;
  return (await call(id ? api.PATCH(groupPath(family), { params: { path: { id } }, body: b }) : api.POST(groupsPath(family), { body: b }))) as G;
}

/**
 * Asks, then deletes. A refusal is shown as the API words it: an object in use is refused with
 * the names of its users, which is what the operator needs to know.
 */
export async function removeObject(family: Family, noun: string, obj: { id: string; name: string }, scope: string): Promise<boolean> {
  return act({
    confirm: {
      title: `Delete ${noun} ${obj.name}?`,
      message: `The ${noun} goes from the configuration; its history stays readable. mipo refuses if anything still uses it.`,
      confirmLabel: `Delete ${noun}`,
    },
    run: () => call(api.DELETE(onePath(family), { params: { path: { id: obj.id } } })),
    done: `Deleted ${noun} ${obj.name}.`,
    scope,
  });
}

/** Names of referenced objects, by id, from the refs objects carry. */
export function namesOf(...objs: { id: string; name: string; refs?: Ref[] }[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const o of objs) {
    out[o.id] = o.name;
    for (const r of o.refs ?? []) out[r.id] = r.name;
  }
  return out;
}

/** The referenced objects of one kind, for a table cell. */
export function refsOf(o: { refs: Ref[] }, kind: string): Ref[] {
  return o.refs.filter((r) => r.kind === kind);
}

/** "3 subnets" */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** A decimal count that may exceed what a number holds (IPv6), with thousands separated. */
export function bigCount(s: string): string {
  return formatCount(s);
}
