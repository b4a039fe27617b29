#!/usr/bin/env node
// run.js — differential test of the rosterbridge SCIM engine (filter parse +
// match, PATCH) against independent JavaScript implementations:
// scim2-parse-filter (filters) and scim-patch (PATCH), pinned in
// package.json / package-lock.json.
//
//   node run.js [--cli PATH] [--report FILE] [--update-known] [--show ID…]
//
// Generates a few hundred inputs (systematic lists plus a seeded random
// mix), feeds them to build/differential/engine_cli (one JSON line per
// case) and to the JS libraries, and compares:
//   filter: both reject, or both accept with the same match result;
//   patch:  both reject, or both accept with the same resource (JSON equal
//           after sorting keys).
// Every case has a stable id (kind + hash of the input), so known.json can
// list the disagreements that are explained in KNOWN.md. Exit status 0 only
// when every disagreement is known and every known id still disagrees
// (a stale entry means the list no longer describes reality).
'use strict';

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { spawnSync } = require('child_process');

const HERE = __dirname;
const ROOT = path.resolve(HERE, '..', '..');
const args = process.argv.slice(2);
function opt(name, dflt) {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
}
const CLI = opt('--cli', path.join(ROOT, 'build', 'differential', 'engine_cli'));
const REPORT = opt('--report', null);
const UPDATE = args.includes('--update-known');
const SHOW = args.includes('--show') ? args.slice(args.indexOf('--show') + 1) : null;

const { parse, filter: compileFilter } = require('scim2-parse-filter');
const { scimPatch, patchBodyValidation } = require('scim-patch');

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCHOP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

// ---- deterministic randomness ------------------------------------------
function mulberry32(seed) {
  return function () {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rnd = mulberry32(20260728);
const pick = (a) => a[Math.floor(rnd() * a.length)];

// ---- resources ----------------------------------------------------------
const users = [
  {
    schemas: [CORE, ENT], id: '2819c223-7f76-453a-919d-413861904646', externalId: '4711',
    userName: 'bjensen@lincoln.example', displayName: 'Babs Jensen', title: 'Principal',
    nickName: 'Babs', userType: 'Employee', active: true,
    name: { givenName: 'Barbara', familyName: 'Jensen', formatted: 'Ms. Barbara J Jensen III' },
    emails: [
      { value: 'bjensen@lincoln.example', type: 'work', primary: true },
      { value: 'babs@jensen.org', type: 'home' },
    ],
    phoneNumbers: [{ value: '555-555-8377', type: 'work' }],
    addresses: [{ type: 'work', streetAddress: '100 Universal City Plaza', locality: 'Hollywood', country: 'USA' }],
    meta: { resourceType: 'User', created: '2010-01-23T04:56:22Z', lastModified: '2011-05-13T04:42:34Z' },
    [ENT]: { employeeNumber: '701984', department: 'Tour Operations', manager: { value: '26118915-6090-4610-87e4-49d8ca9f808d' } },
  },
  {
    schemas: [CORE], id: 'a1', userName: 'Ann.Smith', displayName: 'Ann "the Hammer" Smith',
    title: 'Teacher\\Coach', active: false, userType: 'Contractor',
    name: { givenName: 'Ann', familyName: 'Smith' },
    emails: [{ value: 'ann@washington.example', type: 'work' }],
    meta: { resourceType: 'User', created: '2021-03-01T10:00:00Z', lastModified: '2021-03-01T10:00:00Z' },
  },
  {
    schemas: [CORE], id: 'z9', userName: 'zoë', title: 'Prinz', active: true,
    emails: [],
    meta: { resourceType: 'User', created: '2024-12-31T23:59:59Z', lastModified: '2025-01-01T00:00:00Z' },
  },
];

// ---- filter cases -------------------------------------------------------
const attrs = ['userName', 'displayName', 'title', 'userType', 'name.givenName', 'name.familyName',
  'emails', 'emails.value', 'emails.type', 'emails.primary', 'active', 'id', 'externalId',
  'meta.created', 'meta.lastModified', ENT + ':employeeNumber', ENT + ':department',
  ENT + ':manager.value', 'nickName', 'bogusAttr'];
const ops = ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'];
const strVals = ['"bjensen@lincoln.example"', '"BJENSEN@LINCOLN.EXAMPLE"', '"Principal"', '"prin"',
  '"Prin"', '"pal"', '"work"', '"Work"', '"Ann \\"the Hammer\\" Smith"', '"Teacher\\\\Coach"',
  '"zo\\u00eb"', '"zoë"', '"2011-05-13T04:42:34Z"', '"2015-01-01T00:00:00Z"', '"701984"', '"4711"',
  '""', '"@lincoln"', '"Babs Jensen"', '"a1"', '"Tour"'];
const otherVals = ['true', 'false', 'null', '4711', '701984', '1.5', '-3', '1e3', 'True'];

const filterTexts = new Set();
// systematic: every operator on a handful of attributes, with and without a matching value
for (const a of ['userName', 'title', 'emails.value', 'active', 'meta.lastModified', ENT + ':employeeNumber']) {
  for (const o of ops) {
    for (const v of ['"Principal"', '"bjensen@lincoln.example"', '"2011-05-13T04:42:34Z"', 'true', '"701984"', '"m"'])
      filterTexts.add(`${a} ${o} ${v}`);
  }
  filterTexts.add(`${a} pr`);
}
// operator and keyword case-insensitivity, attribute name case-insensitivity
for (const t of ['userName EQ "bjensen@lincoln.example"', 'USERNAME eq "bjensen@lincoln.example"',
  'userName Eq "BJensen@Lincoln.Example"', 'title SW "prin" AND active EQ true',
  'title sw "x" OR active eq TRUE', 'NOT (title eq "Principal")', 'EMAILS[TYPE eq "work"]',
  'name.GIVENNAME co "arb"', 'emails.TYPE eq "WORK"', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:EMPLOYEENUMBER eq "701984"'])
  filterTexts.add(t);
// precedence and grouping
for (const t of ['title eq "Principal" or title eq "Teacher\\\\Coach" and active eq true',
  '(title eq "Principal" or title eq "Teacher\\\\Coach") and active eq true',
  'title eq "x" or active eq false and userName pr',
  'not (active eq true) or title co "Prin"', 'not (active eq true or title co "Prin")',
  'not (not (active eq true))', 'active eq true and not (title sw "T") and userName pr',
  '((((userName pr))))', 'userName pr and (title eq "Prinz" or (displayName co "Hammer" and active eq false))',
  'title eq "Principal" and title eq "Principal" or active eq false',
  'userName eq "x" and (emails[type eq "work" and value co "@lincoln"] or title sw "Prin")'])
  filterTexts.add(t);
// value paths
for (const t of ['emails[type eq "work"]', 'emails[type eq "work" and value co "@lincoln"]',
  'emails[type eq "home" and value co "@lincoln"]', 'emails[not (type eq "work")]',
  'emails[primary eq true]', 'emails[value ew ".org"] and active eq true',
  'emails[type eq "work" or type eq "home"]', 'addresses[locality sw "Holly"]',
  'emails[value pr]', 'phoneNumbers[type eq "work" and value sw "555"]', 'emails[bogus eq "x"]'])
  filterTexts.add(t);
// literals: escapes, numbers, booleans, null
for (const v of strVals.concat(otherVals)) {
  filterTexts.add(`title eq ${v}`);
  filterTexts.add(`externalId eq ${v}`);
}
// malformed
for (const t of ['', 'userName', 'userName eq', 'userName xx "a"', '(userName pr', 'userName pr)',
  'userName eq "unterminated', 'not userName pr', 'userName pr and', 'emails[type eq "work"',
  'userName eq "a" "b"', 'and userName pr', 'userName pr or or title pr', 'title eq \'single\'',
  'emails[type eq "work"].value eq "x"', 'userName eq [1]', 'userName eq {"a":1}'])
  filterTexts.add(t);
// seeded random trees
function randAtom() {
  const a = pick(attrs);
  const r = rnd();
  if (r < 0.1) return `${a} pr`;
  if (r < 0.25) return `emails[${pick(['type', 'value', 'primary'])} ${pick(ops)} ${pick(strVals.concat(otherVals))}]`;
  return `${a} ${pick(ops)} ${pick(rnd() < 0.75 ? strVals : otherVals)}`;
}
function randTree(d) {
  const r = rnd();
  if (d <= 0 || r < 0.35) return randAtom();
  if (r < 0.5) return `not (${randTree(d - 1)})`;
  if (r < 0.6) return `(${randTree(d - 1)})`;
  return `${randTree(d - 1)} ${pick(['and', 'or', 'AND', 'Or'])} ${randTree(d - 1)}`;
}
while (filterTexts.size < 420) filterTexts.add(randTree(3));

// ---- patch cases ----------------------------------------------------------
const patchUser = {
  schemas: [CORE, ENT], id: 'p1', externalId: 'e1', userName: 'bjensen@lincoln.example',
  displayName: 'Babs Jensen', title: 'Principal', active: true,
  name: { givenName: 'Barbara', familyName: 'Jensen' },
  emails: [
    { value: 'bjensen@lincoln.example', type: 'work', primary: true },
    { value: 'babs@jensen.org', type: 'home' },
  ],
  phoneNumbers: [{ value: '555-555-8377', type: 'work' }],
  addresses: [{ type: 'work', streetAddress: '1 Main', country: 'USA' }],
  [ENT]: { employeeNumber: '701984', department: 'Tour Operations' },
};
const bareUser = { schemas: [CORE], id: 'p2', userName: 'ann' };

const patchOps = [
  { op: 'add', path: 'title', value: 'Vice Principal' },
  { op: 'replace', path: 'title', value: 'Teacher' },
  { op: 'remove', path: 'title' },
  { op: 'replace', path: 'displayName', value: 'B. Jensen' },
  { op: 'add', path: 'nickName', value: 'Babs' },
  { op: 'remove', path: 'nickName' },
  { op: 'replace', path: 'active', value: false },
  { op: 'replace', path: 'active', value: 'False' },
  { op: 'add', path: 'name.givenName', value: 'Barb' },
  { op: 'replace', path: 'name.familyName', value: 'Jensen-Smith' },
  { op: 'remove', path: 'name.givenName' },
  { op: 'replace', path: 'name', value: { givenName: 'B' } },
  { op: 'add', path: 'name', value: { middleName: 'J' } },
  { op: 'add', path: 'emails', value: [{ value: 'new@lincoln.example', type: 'other' }] },
  { op: 'add', path: 'emails', value: [{ value: 'babs@jensen.org', type: 'home' }] },
  { op: 'add', path: 'emails', value: [{ value: 'p@lincoln.example', type: 'work', primary: true }] },
  { op: 'replace', path: 'emails', value: [{ value: 'only@lincoln.example', type: 'work' }] },
  { op: 'remove', path: 'emails' },
  { op: 'remove', path: 'emails[type eq "home"]' },
  { op: 'remove', path: 'emails[type eq "other"]' },
  { op: 'replace', path: 'emails[type eq "work"].value', value: 'w@lincoln.example' },
  { op: 'replace', path: 'emails[type eq "WORK"].value', value: 'w2@lincoln.example' },
  { op: 'replace', path: 'emails[type eq "work"]', value: { value: 'x@lincoln.example', type: 'work' } },
  { op: 'add', path: 'emails[type eq "work"].display', value: 'Work mail' },
  { op: 'remove', path: 'emails[type eq "work"].primary' },
  { op: 'replace', path: 'phoneNumbers[type eq "work"].value', value: '555-0000' },
  { op: 'replace', path: 'addresses[type eq "work"].country', value: 'DE' },
  { op: 'replace', path: 'addresses[type eq "home"].country', value: 'FR' },
  { op: 'add', path: 'addresses[type eq "home"].locality', value: 'Paris' },
  { op: 'remove', path: 'addresses[type eq "work"].country' },
  { op: 'add', value: { title: 'Head', nickName: 'B' } },
  { op: 'replace', value: { displayName: 'X', active: false } },
  { op: 'replace', value: { 'name.givenName': 'Dotted' } },
  { op: 'replace', value: { name: { givenName: 'Obj' } } },
  { op: 'add', value: { emails: [{ value: 'nopath@lincoln.example', type: 'other' }] } },
  { op: 'add', path: ENT + ':department', value: 'Admissions' },
  { op: 'replace', path: ENT + ':employeeNumber', value: '42' },
  { op: 'remove', path: ENT + ':department' },
  { op: 'add', path: ENT + ':manager', value: { value: 'm1' } },
  { op: 'replace', value: { [ENT + ':employeeNumber']: '43' } },
  { op: 'replace', value: { [ENT]: { costCenter: 'CC1' } } },
  { op: 'Replace', path: 'title', value: 'Entra' },
  { op: 'Add', path: 'userType', value: 'Student' },
  { op: 'Remove', path: 'userType' },
  { op: 'remove' },
  { op: 'move', path: 'title' },
  { op: 'add', path: 'bogusAttr', value: 'x' },
  { op: 'add', path: 'emails[type eq "work"', value: 'x' },
  { op: 'replace', path: 'userName', value: 'renamed@lincoln.example' },
  { op: 'remove', path: 'userName' },
  { op: 'add', path: 'title', value: null },
  { op: 'replace', path: 'emails', value: [] },
  { op: 'add', path: 'title', value: 42 },
  { op: 'add', path: 'emails', value: { value: 'single@lincoln.example' } },
];

const group = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], id: 'g1', displayName: 'Tour Guides',
  members: [{ value: 'u1', display: 'Babs' }, { value: 'u2' }],
};
const groupOps = [
  { op: 'add', path: 'members', value: [{ value: 'u3' }] },
  { op: 'add', path: 'members', value: [{ value: 'u1' }] },
  { op: 'remove', path: 'members', value: [{ value: 'u1' }] },
  { op: 'Remove', path: 'members', value: [{ value: 'u9' }] },
  { op: 'remove', path: 'members[value eq "u2"]' },
  { op: 'remove', path: 'members[value eq "u1" or value eq "u2"]' },
  { op: 'replace', path: 'members', value: [{ value: 'u7' }] },
  { op: 'remove', path: 'members' },
  { op: 'replace', path: 'displayName', value: 'Guides' },
  { op: 'replace', value: { displayName: 'Guides 2' } },
  { op: 'add', value: { members: [{ value: 'u4' }] } },
];

const patchBodies = [];
for (const o of groupOps) patchBodies.push({ type: 'Group', resource: group, ops: [o] });
for (const o of patchOps) {
  patchBodies.push({ resource: patchUser, ops: [o] });
  patchBodies.push({ resource: bareUser, ops: [o] });
}
const prand = mulberry32(7);
for (let i = 0; i < 80; i++) {
  const n = 1 + Math.floor(prand() * 3);
  const sel = [];
  for (let j = 0; j < n; j++) sel.push(patchOps[Math.floor(prand() * patchOps.length)]);
  patchBodies.push({ resource: prand() < 0.7 ? patchUser : bareUser, ops: sel });
}

// ---- cases with stable ids ---------------------------------------------
function idOf(kind, obj) {
  return kind + '-' + crypto.createHash('sha1').update(JSON.stringify(obj)).digest('hex').slice(0, 10);
}
const cases = [];
const seen = new Set();
for (const f of filterTexts) {
  users.forEach((u, ui) => {
    const c = { kind: 'filter', input: { filter: f, user: ui } };
    c.id = idOf('f', c.input);
    if (!seen.has(c.id)) { seen.add(c.id); cases.push(c); }
  });
}
for (const pb of patchBodies) {
  const body = { schemas: [PATCHOP], Operations: pb.ops };
  const c = { kind: 'patch', input: { resource: pb.resource, body } };
  if (pb.type) c.input.type = pb.type;
  c.id = idOf('p', c.input);
  if (!seen.has(c.id)) { seen.add(c.id); cases.push(c); }
}

// ---- our side ------------------------------------------------------------
const lines = cases.map((c) => JSON.stringify(c.kind === 'filter'
  ? { id: c.id, op: 'filter', type: 'User', filter: c.input.filter, resource: users[c.input.user] }
  : { id: c.id, op: 'patch', type: c.input.type || 'User', resource: c.input.resource, body: c.input.body }));
const run = spawnSync(CLI, [], { input: lines.join('\n') + '\n', maxBuffer: 256 << 20 });
if (run.error || run.status !== 0) {
  console.error(`run.js: ${CLI} failed: ${run.error || 'exit ' + run.status}\n${run.stderr}`);
  process.exit(2);
}
const ours = run.stdout.toString().split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l));
if (ours.length !== cases.length) {
  console.error(`run.js: engine_cli answered ${ours.length} lines for ${cases.length} cases`);
  process.exit(2);
}

// ---- their side ----------------------------------------------------------
function theirs(c) {
  try {
    if (c.kind === 'filter') {
      const ast = parse(c.input.filter);
      return { ok: true, match: compileFilter(ast)(JSON.parse(JSON.stringify(users[c.input.user]))) };
    }
    patchBodyValidation(c.input.body);
    const res = scimPatch(JSON.parse(JSON.stringify(c.input.resource)), c.input.body.Operations,
      { mutateDocument: false, treatMissingAsAdd: true });
    return { ok: true, resource: res };
  } catch (e) {
    return { ok: false, detail: String(e && e.message || e) };
  }
}
function canon(v) {
  if (Array.isArray(v)) return v.map(canon);
  if (v && typeof v === 'object') {
    const o = {};
    for (const k of Object.keys(v).sort()) o[k] = canon(v[k]);
    return o;
  }
  return v;
}
function same(a, b) {
  if (a.ok !== b.ok) return false;
  if (!a.ok) return true;
  if ('match' in b) return a.match === b.match;
  return JSON.stringify(canon(a.resource)) === JSON.stringify(canon(b.resource));
}

// ---- compare -------------------------------------------------------------
const knownPath = path.join(HERE, 'known.json');
const known = fs.existsSync(knownPath) ? JSON.parse(fs.readFileSync(knownPath, 'utf8')) : {};
const disagreements = [];
cases.forEach((c, i) => {
  const a = ours[i];
  if (a.id !== c.id) throw new Error(`answer ${i} is for ${a.id}, expected ${c.id}`);
  const b = theirs(c);
  if (SHOW && SHOW.includes(c.id))
    console.log(JSON.stringify({ id: c.id, input: c.input, ours: a, theirs: b }, null, 1));
  if (!same(a, b)) disagreements.push({ id: c.id, kind: c.kind, input: c.input, ours: a, theirs: b });
});
// every reason code used in known.json must have a row in KNOWN.md
const knownMd = fs.readFileSync(path.join(HERE, 'KNOWN.md'), 'utf8');
const undocumented = [...new Set(Object.values(known).flatMap((r) => r.split('+')))]
  .filter((r) => !knownMd.includes('| ' + r + ' |'));
for (const r of undocumented) console.log(`UNDOCUMENTED reason ${r}: used in known.json, no row in KNOWN.md`);
const unknown = disagreements.filter((d) => !(d.id in known));
const ids = new Set(disagreements.map((d) => d.id));
const stale = Object.keys(known).filter((id) => !ids.has(id));
const nf = cases.filter((c) => c.kind === 'filter').length;
console.log(`# ${cases.length} cases (${nf} filter, ${cases.length - nf} patch), ` +
  `${disagreements.length} disagreements, ${unknown.length} unexplained, ${stale.length} stale known ids`);
const byReason = {};
for (const d of disagreements) if (d.id in known) byReason[known[d.id]] = (byReason[known[d.id]] || 0) + 1;
for (const r of Object.keys(byReason).sort()) console.log(`#   ${r}: ${byReason[r]}`);
function brief(x) {
  if (!x.ok) return 'error' + (x.scimType ? ' ' + x.scimType : '') + ': ' + (x.detail || '').slice(0, 100);
  return 'match' in x ? 'match=' + x.match : 'resource ' + JSON.stringify(canon(x.resource));
}
for (const d of unknown) {
  const what = d.kind === 'filter' ? `filter ${JSON.stringify(d.input.filter)} on user ${d.input.user}`
    : `patch ${JSON.stringify(d.input.body.Operations)} on ${d.input.resource.id}`;
  console.log(`UNEXPLAINED ${d.id}: ${what}\n    ours:   ${brief(d.ours)}\n    theirs: ${brief(d.theirs)}`);
}
for (const id of stale) console.log(`STALE ${id}: listed in known.json (${known[id]}) but both sides agree now`);
if (UPDATE) {
  const next = {};
  for (const d of disagreements) next[d.id] = known[d.id] || 'UNCLASSIFIED';
  fs.writeFileSync(knownPath, JSON.stringify(next, Object.keys(next).sort(), 1) + '\n');
}
if (REPORT) {
  fs.writeFileSync(REPORT, JSON.stringify({ cases: cases.length, filter: nf, patch: cases.length - nf,
    disagreements: disagreements.length, byReason, undocumented,
    unknown: unknown.map((d) => ({ id: d.id, input: d.input, ours: d.ours, theirs: d.theirs })), stale }));
}
process.exit(unknown.length === 0 && stale.length === 0 && undocumented.length === 0 ? 0 : 1);
