// tcCommand: one `tc` command line against a NetStack — what `skbnet tc …` and `--tc "…"` run.
//   tcCommand(stack, ['qdisc', 'replace', 'dev', 'eth0', 'root', 'netem', 'delay', '100ms'])  → ''
//   tcCommand(stack, ['-s', 'qdisc', 'show', 'dev', 'eth0'])                                   → text
// Errors throw TcError with tc's message. Grammar: tc/tc_qdisc.c tc_qdisc_modify, tc_class.c.
import type { NetStack } from '../../core/stack';
import { TC_H_ROOT } from '../../core/sch_generic';
import { get_tc_classid, get_qdisc_handle } from './handles';
import { Args, TcError, matches } from './kinds';
import { tc_modify_class, tc_modify_qdisc, type ClassCommand, type QdiscCommand } from './apply';
import { tc_class_show, tc_qdisc_show_all } from './show';

export { TcError } from './kinds';

const VERBS: Record<string, QdiscCommand['verb']> = { add: 'add', replace: 'replace', change: 'change', del: 'del', delete: 'del' };

/** tc_qdisc_modify / tc_class_modify's argument loop */
export function parse_tc_modify(obj: 'qdisc' | 'class', verbWord: string, argv: readonly string[]): QdiscCommand | ClassCommand {
  const verb = VERBS[verbWord];
  if (!verb) throw new TcError(`Command "${verbWord}" is unknown, try "tc ${obj} help".`);
  const a = new Args(argv);
  let dev = '';
  let parent = 0;
  let handle = 0;
  let classid = 0;
  let kind: string | null = null;
  for (; a.more; a.i++) {
    const w = a.cur;
    if (w === 'dev') {
      const v = a.next();
      if (dev) throw new TcError(`Error: duplicate "dev": "${v}" is the second value.`);
      dev = v;
    } else if (w === 'handle' && obj === 'qdisc') {
      const v = a.next();
      if (handle) throw new TcError(`Error: duplicate "handle": "${v}" is the second value.`);
      const h = get_qdisc_handle(v);
      if (h === null) throw new TcError(`Error: argument "${v}" is wrong: invalid qdisc ID`);
      handle = h;
    } else if (w === 'classid' && obj === 'class') {
      const v = a.next();
      if (classid) throw new TcError(`Error: duplicate "classid": "${v}" is the second value.`);
      const h = get_tc_classid(v);
      if (h === null) throw new TcError(`Error: argument "${v}" is wrong: invalid class ID`);
      classid = h;
    } else if (w === 'root') {
      if (parent) throw new TcError('Error: "root" is duplicate parent ID');
      parent = TC_H_ROOT;
    } else if (w === 'parent') {
      const v = a.next();
      if (parent) throw new TcError(`Error: duplicate "parent": "${v}" is the second value.`);
      const h = get_tc_classid(v);
      if (h === null) throw new TcError(`Error: argument "${v}" is wrong: invalid parent ID`);
      parent = h;
    } else if (w === 'ingress' || w === 'clsact') {
      throw new TcError(`Error: "${w}" qdiscs are not modelled; shape ingress on ifb0 instead (tc qdisc replace dev ifb0 root …).`);
    } else if (matches(w, 'estimator') || matches(w, 'stab')) {
      throw new TcError(`Error: "${w}" is not modelled.`);
    } else if (matches(w, 'help')) {
      throw new TcError(`Usage: tc ${obj} [ add | del | change | replace ] dev STRING [ handle QHANDLE ] [ root | parent CLASSID ] [ QDISC_KIND [ OPTIONS ] ]`);
    } else {
      kind = w;
      a.i++;
      break;
    }
  }
  if (!dev) throw new TcError('Not enough information: "dev" argument is required.');
  const args = a.a.slice(a.i);
  if (obj === 'qdisc') return { verb, dev, parent, handle, kind, args } satisfies QdiscCommand;
  return { verb, dev, parent, classid, kind, args } satisfies ClassCommand;
}

/** execute one tc command line; returns what tc prints on stdout ('' for changes) */
export function tcCommand(stack: NetStack, argv: readonly string[]): string {
  const a = [...argv];
  if (a[0] === 'tc') a.shift();
  let stats = false;
  while (a.length && a[0].startsWith('-')) {
    const o = a.shift()!;
    if (o === '-s' || matches(o, '-statistics') || o === '-stats') stats = true;
    else if (o === '-d' || matches(o, '-details') || o === '-p' || matches(o, '-pretty')) continue;
    else throw new TcError(`Option "${o}" is unknown, try "tc -help".`);
  }
  const obj = a.shift();
  if (!obj) throw new TcError('Usage: tc [ OPTIONS ] OBJECT { COMMAND | help }');
  if (matches(obj, 'qdisc') || matches(obj, 'class')) {
    const isQdisc = matches(obj, 'qdisc');
    const verb = a.shift() ?? 'show';
    if (matches(verb, 'show') || matches(verb, 'list') || verb === 'ls') {
      let dev: string | undefined;
      for (let i = 0; i < a.length; i++) {
        if (a[i] === 'dev' && i + 1 < a.length) dev = a[++i];
        else throw new TcError(`What is "${a[i]}"? Try "tc ${isQdisc ? 'qdisc' : 'class'} help".`);
      }
      if (isQdisc) return tc_qdisc_show_all(stack, { stats, dev });
      if (!dev) throw new TcError('Not enough information: "dev" argument is required.');
      return tc_class_show(stack, { stats, dev });
    }
    const cmd = parse_tc_modify(isQdisc ? 'qdisc' : 'class', verb, a);
    try {
      if (isQdisc) tc_modify_qdisc(stack, cmd as QdiscCommand);
      else tc_modify_class(stack, cmd as ClassCommand);
    } catch (e) {
      if (e instanceof TcError) throw e;
      throw new TcError(e instanceof Error ? e.message : String(e));
    }
    return '';
  }
  throw new TcError(`Object "${obj}" is unknown, try "tc help".`);
}
