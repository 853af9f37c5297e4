// Intrusive doubly linked list (include/linux/list.h): poll lists move NAPIs around without allocating.
// Only the operations net_rx_action and NAPI need; names and semantics follow list.h.

export class ListHead<T> {
  next: ListHead<T> = this;
  prev: ListHead<T> = this;
  /** the object this node is embedded in (container_of); null for a list head */
  constructor(readonly entry: T | null = null) {}
}

export function INIT_LIST_HEAD<T>(h: ListHead<T>): void {
  h.next = h;
  h.prev = h;
}

export function list_empty<T>(h: ListHead<T>): boolean {
  return h.next === h;
}

function __list_add<T>(n: ListHead<T>, prev: ListHead<T>, next: ListHead<T>): void {
  next.prev = n;
  n.next = next;
  n.prev = prev;
  prev.next = n;
}

/** insert after head (stack order) */
export function list_add<T>(n: ListHead<T>, head: ListHead<T>): void {
  __list_add(n, head, head.next);
}

/** insert before head (queue order) */
export function list_add_tail<T>(n: ListHead<T>, head: ListHead<T>): void {
  __list_add(n, head.prev, head);
}

/** unlink and leave the node pointing at itself, so list_empty(node) tells "not on a list" */
export function list_del_init<T>(n: ListHead<T>): void {
  n.prev.next = n.next;
  n.next.prev = n.prev;
  INIT_LIST_HEAD(n);
}

/** move every entry of `list` to the front of `head`; `list` is left empty */
export function list_splice_init<T>(list: ListHead<T>, head: ListHead<T>): void {
  if (list_empty(list)) return;
  const first = list.next;
  const last = list.prev;
  const at = head.next;
  first.prev = head;
  head.next = first;
  last.next = at;
  at.prev = last;
  INIT_LIST_HEAD(list);
}

/** move every entry of `list` to the back of `head`; `list` is left empty */
export function list_splice_tail_init<T>(list: ListHead<T>, head: ListHead<T>): void {
  if (list_empty(list)) return;
  const first = list.next;
  const last = list.prev;
  const at = head.prev;
  first.prev = at;
  at.next = first;
  last.next = head;
  head.prev = last;
  INIT_LIST_HEAD(list);
}

/** the first entry; callers check list_empty first, as in C */
export function list_first_entry<T>(head: ListHead<T>): T {
  return head.next.entry as T;
}

/** number of entries (cold path: tests and introspection) */
export function list_count<T>(head: ListHead<T>): number {
  let n = 0;
  for (let p = head.next; p !== head; p = p.next) n++;
  return n;
}

/** entries in order (cold path: tests and introspection) */
export function list_entries<T>(head: ListHead<T>): T[] {
  const out: T[] = [];
  for (let p = head.next; p !== head; p = p.next) out.push(p.entry as T);
  return out;
}
