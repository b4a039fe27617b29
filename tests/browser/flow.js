#!/usr/bin/env node
// flow.js — the console in a real headless Chromium (Debian's, driven by
// puppeteer-core; nothing is downloaded): sign in, invite, read the e-mail
// the SMTP listener captured, open the link, set a password, ldapwhoami,
// sign in as the new administrator, edit, resend (the old link is dead),
// delete (and the "still granted by" message), with names carrying script
// payloads checked inert in the DOM; five wrong passwords lock a person out
// (slapd's ppolicy), the right one then refused with the same message. Called by
// tests/integration/71-console-browser.t, which starts slapd, the daemon
// and the SMTP listener and reads the report this writes:
//   node flow.js --base URL --tenant demo --login L --password P
//                --mail-dir DIR --ldap-uri URI --suffix S --artifacts DIR --report FILE
//                [--lock-login L --lock-password P]
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const puppeteer = require('puppeteer-core');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const results = [];
function check(name, ok, diag) {
  results.push({ name, ok: !!ok, diag: ok ? undefined : String(diag === undefined ? '' : diag) });
}
const LIN = '5eed0001-0000-4000-8000-000000000001';
const WAS = '5eed0001-0000-4000-8000-000000000002';
const XSS = 'Ivy <img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';

// The messages the listener wrote (RBSmtp: envelope lines, then the message).
function mails() {
  return fs.readdirSync(args['mail-dir']).filter((f) => f.endsWith('.eml')).sort().map((f) => {
    const raw = fs.readFileSync(path.join(args['mail-dir'], f), 'latin1');
    const to = (raw.match(/^X-Envelope-To: (.*)$/m) || [])[1];
    const parts = {};
    const boundary = (raw.match(/boundary="([^"]+)"/) || [])[1];
    for (const part of raw.split('--' + boundary)) {
      const m = part.match(/Content-Type: text\/(plain|html)[\s\S]*?\r?\n\r?\n([\s\S]*)$/);
      if (m) parts[m[1]] = Buffer.from(m[2].replace(/\s+/g, ''), 'base64').toString('utf8');
    }
    return { file: f, to, text: parts.plain || '', html: parts.html || '' };
  });
}
const seen = new Set();
async function waitMail(to) {
  for (let i = 0; i < 600; i++) {
    const m = mails().find((x) => x.to === to && !seen.has(x.file));
    if (m) { seen.add(m.file); return m; }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('no e-mail to ' + to);
}
function linkOf(m) {
  return (m.text.match(/Confirm your account: (\S+)/) || [])[1];
}
function whoami(dn, pw) {
  const f = path.join(os.tmpdir(), 'rbpw-' + process.pid);
  fs.writeFileSync(f, pw, { mode: 0o600 });
  try {
    return execFileSync('ldapwhoami', ['-x', '-H', args['ldap-uri'], '-D', dn, '-y', f], { encoding: 'utf8' }).trim();
  } catch (e) {
    return 'FAILED: ' + e.message;
  } finally {
    fs.unlinkSync(f);
  }
}

async function shot(page, name) {
  fs.mkdirSync(args.artifacts, { recursive: true });
  await page.screenshot({ path: path.join(args.artifacts, name + '.png'), fullPage: true });
}
async function go(page, url) {
  await page.goto(url.startsWith('http') ? url : args.base + url, { waitUntil: 'load' });
}
async function submit(page, selector) {
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click(selector)]);
}
async function signIn(page, login, password) {
  await go(page, `/console/${args.tenant}/signin`);
  await page.type('#f-login', login);
  await page.type('#f-password', password);
  await submit(page, 'main button[type=submit]');
}
async function rowMenu(page, name, item) {
  // The row menu: <details> opened by a click, then the item (a link or a form button).
  const row = await page.evaluateHandle((n) => [...document.querySelectorAll('#admins tbody tr')]
    .find((tr) => tr.cells[0] && tr.cells[0].textContent === n), name);
  if (!row.asElement()) throw new Error('no row for ' + name);
  const summary = await row.asElement().$('details.menu summary');
  await summary.click();
  const target = await row.asElement().evaluateHandle((tr, it) => [...tr.querySelectorAll('details.menu li a, details.menu li button')]
    .find((e) => e.textContent === it), item);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), target.asElement().click()]);
}

(async () => {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rb-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    userDataDir,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage'],
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    const consoleErrors = [];
    page.on('pageerror', (e) => consoleErrors.push(String(e)));

    // Sign in as the district administrator.
    await go(page, `/console/${args.tenant}/`);
    check('signed out: sent to the sign-in page', page.url().endsWith('/signin'), page.url());
    await shot(page, '01-signin');
    await signIn(page, args.login, args.password);
    check('signed in: the dashboard', (await page.title()).startsWith('Dashboard'), await page.title());
    const cookies = await page.cookies();
    const sc = cookies.find((c) => c.name === 'rb_session');
    check('session cookie is HttpOnly and SameSite=Strict', sc && sc.httpOnly && sc.sameSite === 'Strict', JSON.stringify(sc));
    check('no script can read the session cookie', !(await page.evaluate(() => document.cookie)).includes('rb_session'));
    await shot(page, '02-dashboard');
    await Promise.all([page.waitForNavigation(), page.click('main a.button')]);
    check('Manage Administrators opens', (await page.title()).startsWith('Manage Administrators'));
    await shot(page, '03-manage-administrators');

    // Invite Ivy (a name carrying script), Manage at Lincoln, can manage admins.
    await Promise.all([page.waitForNavigation(), page.click('a.button[href$="/admins/invite"]')]);
    await page.type('#f-name', XSS);
    await page.type('#f-email', 'ivy@demo.example');
    await page.click(`#c-school-${LIN}`);
    await page.click('#c-permission-manage');
    await page.click('#c-can_manage-1');
    await shot(page, '04-invite');
    await submit(page, 'main form button[type=submit]');
    check('invite: back on the list with a notice', (await page.$eval('main', (m) => m.textContent)).includes('Invitation sent'));
    const xss = await page.evaluate((payload) => ({
      flag: window.__xss,
      imgs: document.querySelectorAll('main img').length,
      scripts: document.querySelectorAll('script').length,
      cell: [...document.querySelectorAll('#admins tbody tr td:first-child')].some((td) => td.textContent === payload),
    }), XSS);
    check('XSS payload inert: no script ran', xss.flag === undefined, JSON.stringify(xss));
    check('XSS payload inert: no element made from it', xss.imgs === 0 && xss.scripts === 0, JSON.stringify(xss));
    check('XSS payload shown as text in the DOM', xss.cell, JSON.stringify(xss));
    check('the list shows Invited', (await page.$eval('#admins', (t) => t.textContent)).includes('Invited'));
    await shot(page, '05-invited');

    // The e-mail, the link, the confirm page, a password.
    const m1 = await waitMail('ivy@demo.example');
    const link = linkOf(m1);
    check('the e-mail carries a confirm link', /\/confirm\?token=[0-9a-f]{64}$/.test(link || ''), m1.text);
    check('the HTML part carries the same link', m1.html.includes('href="' + link + '"'), m1.html);
    const ctx2 = await browser.createBrowserContext();
    const p2 = await ctx2.newPage();
    await p2.setViewport({ width: 1280, height: 900 });
    await go(p2, link);
    check('the link opens the confirm page', (await p2.title()).startsWith('Confirm your account'), await p2.title());
    await shot(p2, '06-confirm');
    await p2.type('#f-password', 'Ivy-pw-4567');
    await p2.type('#f-password2', 'Ivy-pw-4567');
    await submit(p2, 'section[aria-labelledby=h-create] button[type=submit]');
    check('confirmed: asked to sign in', p2.url().includes('/signin?confirmed=1'), p2.url());
    const who = whoami(`uid=ivy@demo.example,ou=people,o=${args.tenant},${args.suffix}`, 'Ivy-pw-4567');
    check('ldapwhoami with the new password', who.startsWith('dn:uid=ivy@demo.example'), who);
    await signIn(p2, 'ivy@demo.example', 'Ivy-pw-4567');
    check('Ivy signs in', (await p2.title()).startsWith('Dashboard'), await p2.title());
    check('Ivy may manage administrators (her grant)', (await p2.$$('nav a[href$="/admins"]')).length === 1);
    await shot(p2, '07-ivy-dashboard');
    await go(p2, link);
    check('the used link says so', (await p2.$eval('main', (e) => e.textContent)).includes('already been used'));
    await shot(p2, '08-used-link');

    // Edit Ivy: View instead of Manage.
    await go(page, `/console/${args.tenant}/admins`);
    await rowMenu(page, XSS, 'Edit');
    await shot(page, '09-edit');
    await page.click('#c-permission-view');
    await submit(page, 'main form button[type=submit]');
    const ivyRow = await page.evaluate((n) => [...document.querySelectorAll('#admins tbody tr')]
      .find((tr) => tr.cells[0].textContent === n).textContent, XSS);
    check('edited: Ivy now has View', ivyRow.includes('In-product: View at Lincoln Elementary'), ivyRow);

    // Resend: Rex is invited, then invited again; the first link dies.
    await go(page, `/console/${args.tenant}/admins/invite`);
    await page.type('#f-name', 'Rex Resend');
    await page.type('#f-email', 'rex@demo.example');
    await page.click(`#c-school-${WAS}`);
    await submit(page, 'main form button[type=submit]');
    const r1 = linkOf(await waitMail('rex@demo.example'));
    await rowMenu(page, 'Rex Resend', 'Resend invitation');
    check('resend: a notice', (await page.$eval('main', (m) => m.textContent)).includes('previous link no longer works'));
    const r2 = linkOf(await waitMail('rex@demo.example'));
    check('resend: a new link', r1 && r2 && r1 !== r2, `${r1} ${r2}`);
    await go(p2, r1);
    check('the old link is dead', (await p2.$eval('main', (e) => e.textContent)).includes('replaced'));
    await go(p2, r2);
    check('the new link works', (await p2.title()).startsWith('Confirm your account'));

    // Delete: Carl is Clever's administrator at Lincoln; in-product adds Washington, then removes it.
    await go(page, `/console/${args.tenant}/admins/invite`);
    await page.type('#f-name', 'Carl Clever');
    await page.type('#f-email', 'carl@demo.example');
    await page.click(`#c-school-${WAS}`);
    await submit(page, 'main form button[type=submit]');
    await waitMail('carl@demo.example');
    await rowMenu(page, 'Carl Clever', 'Delete administrator access');
    await shot(page, '10-delete');
    await submit(page, 'main form button.danger');
    const text = await page.$eval('main', (e) => e.textContent);
    check('delete: says which source still grants access',
      text.includes('Clever still grants Manage at Lincoln Elementary — remove it there too.'), text);
    await shot(page, '11-deleted');
    await go(page, `/console/${args.tenant}/admins`);
    await shot(page, '12-manage-administrators-after');
    // Lockout (slapd's ppolicy): five wrong passwords, then the right one is refused
    // with the same message as a wrong one (71-console-browser.t then reads
    // pwdAccountLockedTime from slapd).
    if (args['lock-login']) {
      const ctx3 = await browser.createBrowserContext();
      const p3 = await ctx3.newPage();
      const alertText = async () => p3.$eval('[role=alert]', (e) => e.textContent).catch(() => '');
      let first = '';
      for (let i = 1; i <= 5; i++) {
        await signIn(p3, args['lock-login'], 'not-the-password-' + i);
        if (i === 1) first = await alertText();
      }
      check('lockout: a wrong password shows the one refusal message', first.length > 0, first);
      await signIn(p3, args['lock-login'], args['lock-password']);
      check('lockout: after five wrong passwords the right one is refused',
        p3.url().includes('/signin') && !(await p3.title()).startsWith('Dashboard'), p3.url());
      check('lockout: with the same message, word for word', (await alertText()) === first, await alertText());
      await shot(p3, '13-locked-out');
      await ctx3.close();
    }
    check('no script error on any page', consoleErrors.length === 0, consoleErrors.join('\n'));
    await ctx2.close();
  } catch (e) {
    check('the flow ran to the end', false, e.stack);
  } finally {
    await browser.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
    fs.writeFileSync(args.report, JSON.stringify(results, null, 2));
  }
})();
