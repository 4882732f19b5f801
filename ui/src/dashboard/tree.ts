// The organisation tree from a flat list of units. Pure.
import type { OrgUnit } from './types';

export type TreeNode = { unit: OrgUnit; children: TreeNode[] };

/** Unit kinds top to bottom (the server's order). */
export const UNIT_KINDS = ['city', 'township', 'street', 'village', 'community', 'school'] as const;

const collator = new Intl.Collator('zh-CN', { numeric: true });
function order(a: TreeNode, b: TreeNode): number {
  const ka = UNIT_KINDS.indexOf(a.unit.kind as (typeof UNIT_KINDS)[number]);
  const kb = UNIT_KINDS.indexOf(b.unit.kind as (typeof UNIT_KINDS)[number]);
  return ka - kb || collator.compare(a.unit.name, b.unit.name);
}

/**
 * The units as trees: a unit whose parent is not in the list (or has none) is a root, so a
 * township officer's partial view still reads as a tree. Children by kind, then name.
 */
export function buildTree(units: readonly OrgUnit[]): TreeNode[] {
  const nodes = new Map<string, TreeNode>();
  for (const u of units) nodes.set(u.id, { unit: u, children: [] });
  const roots: TreeNode[] = [];
  for (const n of nodes.values()) {
    const parent = n.unit.parent ? nodes.get(n.unit.parent) : undefined;
    // A unit that names itself (or a cycle) as parent would vanish: such a unit is a root.
    if (parent && parent !== n && !isBelow(parent, n, nodes)) parent.children.push(n);
    else roots.push(n);
  }
  const sort = (list: TreeNode[]) => {
    list.sort(order);
    for (const c of list) sort(c.children);
  };
  sort(roots);
  return roots;
}

/** Whether `a` lies below `b` by parent links (guards against cycles in bad data). */
function isBelow(a: TreeNode, b: TreeNode, nodes: Map<string, TreeNode>): boolean {
  let at: TreeNode | undefined = a;
  for (let i = 0; at && i <= nodes.size; i++) {
    if (at === b) return true;
    at = at.unit.parent ? nodes.get(at.unit.parent) : undefined;
  }
  return false;
}

/** Units that can hold others (the parent choices of a new unit). */
export function parentChoices(units: readonly OrgUnit[], kind: string): OrgUnit[] {
  const want: Record<string, string[]> = {
    township: ['city'],
    street: ['city'],
    village: ['township', 'street'],
    community: ['township', 'street'],
    school: ['township', 'street', 'city'],
  };
  const kinds = want[kind] ?? [];
  return units.filter((u) => kinds.includes(u.kind)).sort((a, b) => collator.compare(a.name, b.name));
}

/**
 * Each unit's township (or street) by walking up its parents: the villages' rows in the
 * supervision answer name their township only by name, and the filter works on ids.
 */
export function townshipOf(units: readonly OrgUnit[]): Map<string, { id: string; name: string }> {
  const byId = new Map(units.map((u) => [u.id, u]));
  const out = new Map<string, { id: string; name: string }>();
  for (const u of units) {
    let at: OrgUnit | undefined = u;
    for (let i = 0; at && i <= units.length; i++) {
      if (at.kind === 'township' || at.kind === 'street') {
        out.set(u.id, { id: at.id, name: at.name });
        break;
      }
      at = at.parent ? byId.get(at.parent) : undefined;
    }
  }
  return out;
}

/** The tree in reading order with each unit's depth (for indented pick lists). */
export function flatten(roots: readonly TreeNode[], depth = 0): { unit: OrgUnit; depth: number }[] {
  return roots.flatMap((n) => [{ unit: n.unit, depth }, ...flatten(n.children, depth + 1)]);
}
