#!/usr/bin/env node
// Request bodies for scripts/demo.sh, as JSON for `buf curl -d @-`. No npm dependencies; the same seed
// gives the same bytes, so a run of the tour shows the same numbers as docs/tour.md.
//
//   generate.mjs portfolio --now=T [--accounts=300] [--days=60] [--seed=7]
//       A synthetic portfolio, one request a line as "METHOD<TAB>JSON": every UpsertAccount first, then
//       RecordEvents batches of at most --batch (1000, the server's --max_batch_events) events, each
//       account's history kept together. Accounts differ in plan, size, industry, region, MRR, tenure
//       and in how they behave over the last --days days (see PROFILES).
//   generate.mjs portfolio-day --now=T --day=K [same options as portfolio]
//       The same accounts' RecordEvents batches for day K after --now (the 24 hours before --now + K
//       days), for the tour to keep the portfolio alive while its clock advances. With --range=A-B and
//       --out_prefix=P instead of --day: days A to B, day K into file PK.tsv.
//   generate.mjs account --id=ID --now=T [--mrr=1000] [--name=NAME] [--size=SIZE] [--tenure_days=400]
//       One UpsertAccount body: the healthy "growth" customer of tests/support/healthy_account.h.
//   generate.mjs history --id=ID --now=T [--months=2] [--limit_usage=LIMIT:USED]
//       One RecordEvents body: HealthyMonth of tests/support/healthy_account.h, for each of the last
//       --months months (two logins a day, daily use of 9 of 10 features, engaged emails, 8 of 10 seats
//       active, a promoter's NPS answer, a satisfied CSAT); with --limit_usage, then USED of the plan's
//       limit LIMIT at --now (event id "api").
//   generate.mjs logins --id=ID --now=T [--count=40]
//       One RecordEvents body: --count logins, one an hour back from --now (ids "back-0", "back-1"…).

import { writeFileSync } from 'node:fs';

const DAY_MS = 24 * 3600 * 1000;
const HOUR_MS = 3600 * 1000;

function parseArgs(argv) {
  const options = {};
  for (const arg of argv) {
    const m = /^--([a-z_]+)=(.*)$/.exec(arg);
    if (!m) throw new Error(`unknown argument ${arg}`);
    options[m[1]] = m[2];
  }
  return options;
}

function need(options, name) {
  if (options[name] === undefined) throw new Error(`--${name} is required`);
  return options[name];
}

function iso(ms) {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

// mulberry32: small, seeded, good enough for synthetic data.
function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    between: (lo, hi) => lo + (hi - lo) * next(),
    int: (lo, hi) => lo + Math.floor((hi - lo + 1) * next()),
    chance: (p) => next() < p,
    pick: (list) => list[Math.floor(next() * list.length)],
    weighted: (pairs) => {
      let r = next() * pairs.reduce((s, [, w]) => s + w, 0);
      for (const [v, w] of pairs) {
        if ((r -= w) < 0) return v;
      }
      return pairs[pairs.length - 1][0];
    },
    poisson: (lambda) => {
      // Knuth; lambda stays small here.
      const l = Math.exp(-lambda);
      let k = 0;
      let p = 1;
      do {
        k++;
        p *= next();
      } while (p > l);
      return k - 1;
    },
  };
}

// ---- The healthy customer of tests/support/healthy_account.h ----

function event(account, id, type, ms, value = 0, subject = '') {
  const e = { event_id: id, account_id: account, type: `EVENT_TYPE_${type}`, time: iso(ms) };
  if (subject) e.subject = subject;
  if (value) e.value = value;
  return e;
}

function healthyAccount(id, nowMs, { mrr = 1000, name = '', size = '', tenureDays = 400 } = {}) {
  const account = {
    account_id: id,
    mrr,
    gross_margin: 0.8,
    seats: 10,
    plan: { name: 'growth', feature_count: 10, limits: { api_calls: 1000 } },
    start_time: iso(nowMs - tenureDays * DAY_MS),
  };
  if (name) account.display_name = name;
  if (size) account.size = size;
  return account;
}

function healthyMonth(id, nowMs, prefix = '') {
  const events = [];
  for (let day = 0; day < 30; ++day) {
    const t = nowMs - (24 * day + 3) * HOUR_MS;
    events.push(event(id, `${prefix}login-${day}`, 'LOGIN', t));
    events.push(event(id, `${prefix}login2-${day}`, 'LOGIN', t + 5 * 60 * 1000));
    events.push(event(id, `${prefix}use-${day}`, 'FEATURE_USED', t, 0, `feature-${day % 9}`));
    if (day % 3 === 0) {
      events.push(event(id, `${prefix}mail-${day}`, 'EMAIL_SENT', t));
      events.push(event(id, `${prefix}open-${day}`, 'EMAIL_OPENED', t));
    }
  }
  events.push(event(id, `${prefix}seats`, 'SEATS_ACTIVE', nowMs - 2 * HOUR_MS, 8));
  events.push(event(id, `${prefix}nps`, 'NPS_RESPONSE', nowMs - 2 * HOUR_MS, 10));
  events.push(event(id, `${prefix}csat`, 'CSAT_RESPONSE', nowMs - 2 * HOUR_MS, 5));
  return events;
}

// ---- The synthetic portfolio ----

const PLANS = {
  starter: { features: 5, limits: { api_calls: 10000, contacts: 1000 }, seats: [2, 8], mrr: [49, 299] },
  growth: { features: 10, limits: { api_calls: 100000, contacts: 10000 }, seats: [5, 30], mrr: [300, 1800] },
  pro: { features: 15, limits: { api_calls: 500000, contacts: 50000 }, seats: [20, 80], mrr: [1500, 6000] },
  enterprise: { features: 25, limits: { api_calls: 2000000 }, seats: [50, 300], mrr: [6000, 25000] },
};
const FEATURES = [
  'dashboards', 'reports', 'exports', 'alerts', 'search', 'automation', 'api', 'webhooks', 'sso',
  'audit-log', 'forecasting', 'segments', 'journeys', 'ab-tests', 'sandbox', 'data-sync', 'custom-fields',
  'approvals', 'templates', 'mobile', 'ai-assist', 'scheduling', 'roles', 'billing', 'insights',
];
const INDUSTRIES = ['technology', 'marketing', 'sales', 'e-commerce', 'support', 'banking', 'health', 'education'];
const REGIONS = ['emea', 'amer', 'apac'];
const NAME_A = [
  'Northwind', 'Bluefin', 'Cobalt', 'Juniper', 'Kestrel', 'Lumen', 'Meridian', 'Nimbus', 'Orchid', 'Pioneer',
  'Quartz', 'Redwood', 'Sable', 'Tidal', 'Umber', 'Vantage', 'Willow', 'Zephyr', 'Acorn', 'Beacon',
];
const NAME_B = ['Analytics', 'Labs', 'Retail', 'Health', 'Logistics', 'Media', 'Finance', 'Systems', 'Studio',
  'Foods', 'Travel', 'Energy', 'Robotics', 'Learning', 'Partners'];
const COMPETITORS = ['rivalcrm', 'acmesuccess', 'churnzero-ish'];

// How an account behaves. intensity(k, a) is its activity on day k (0 is --now, negative days before it,
// positive days after it, which `portfolio-day` makes while the tour's clock advances).
const PROFILES = {
  thriving: { weight: 25, intensity: () => 0.9, breadth: [0.6, 0.9], nps: [9, 10], tickets: 0.02, openRate: 0.75, grows: 1 },
  steady: { weight: 33, intensity: () => 0.65, breadth: [0.4, 0.7], nps: [7, 9], tickets: 0.04, openRate: 0.55, grows: 0.4 },
  // Fine until a month before --now, then fading to a trickle.
  slipping: {
    weight: 12, intensity: (k) => (k < -30 ? 0.75 : Math.max(0.12, 0.75 - 0.021 * (k + 30))), breadth: [0.3, 0.6],
    nps: [5, 8], tickets: 0.06, openRate: 0.25,
  },
  at_risk: { weight: 10, intensity: () => 0.22, breadth: [0.1, 0.3], nps: [1, 6], tickets: 0.1, openRate: 0.1 },
  // New customers ramping up over their first 45 days.
  onboarding: {
    weight: 12, intensity: (k, a) => 0.3 + 0.5 * Math.min(1, (k + a.tenureDays) / 45), breadth: [0.2, 0.5],
    nps: [7, 10], tickets: 0.08, openRate: 0.55,
  },
  at_limit: { weight: 8, intensity: () => 0.85, breadth: [0.6, 0.9], nps: [8, 10], tickets: 0.03, openRate: 0.6, grows: 0.8 },
};

// A seed for one account's `stream` on day k: each day's events can be made alone, in any order.
function daySeed(seed, index, k, stream) {
  let h = 2166136261 ^ seed;
  for (const x of [index, k + 100000, stream]) {
    h = Math.imul(h ^ x, 16777619);
    h ^= h >>> 13;
  }
  return h >>> 0;
}

// The portfolio's accounts, from the seed alone (the same for `portfolio` and `portfolio-day`).
function makeAccounts(options) {
  const nowMs = Date.parse(need(options, 'now'));
  const count = Number(options.accounts ?? 300);
  const days = Number(options.days ?? 60);
  const seed = Number(options.seed ?? 7);
  const r = rng(seed);
  const accounts = [];
  for (let i = 1; i <= count; ++i) {
    const id = `acct-${String(i).padStart(4, '0')}`;
    const profile = r.weighted(Object.entries(PROFILES).map(([k, p]) => [k, p.weight]));
    const planName = r.weighted([['starter', 30], ['growth', 38], ['pro', 20], ['enterprise', 12]]);
    const plan = PLANS[planName];
    const seats = r.int(...plan.seats);
    const mrr = Math.round(r.between(...plan.mrr) / 10) * 10;
    const tenureDays = profile === 'onboarding' ? r.int(12, days - 5) : r.int(days + 10, 1500);
    const size =
      planName === 'starter' ? 'SMB' : planName === 'growth' ? r.pick(['SMB', 'MID_MARKET']) :
      planName === 'pro' ? r.pick(['MID_MARKET', 'ENTERPRISE']) : 'ENTERPRISE';
    const start = nowMs - tenureDays * DAY_MS;
    const request = {
      account_id: id,
      display_name: `${r.pick(NAME_A)} ${r.pick(NAME_B)}`,
      plan: { name: planName, feature_count: plan.features, limits: plan.limits },
      industry: r.pick(INDUSTRIES),
      size: `ACCOUNT_SIZE_${size}`,
      status: profile === 'onboarding' && tenureDays < 30 && r.chance(0.5) ? 'ACCOUNT_STATUS_TRIAL' : 'ACCOUNT_STATUS_ACTIVE',
      seats,
      mrr,
      gross_margin: Math.round(r.between(0.7, 0.88) * 100) / 100,
      cac: Math.round(mrr * r.between(3, 9)),
      start_time: iso(start),
      renewal_time: iso(start + Math.ceil((tenureDays + 1) / 365) * 365 * DAY_MS),
      expansion_rate: Math.round(r.between(0, 0.03) * 1000) / 1000,
      labels: { region: r.pick(REGIONS), profile },
    };
    accounts.push({
      index: i, id, profile, p: PROFILES[profile], request, tenureDays, nowMs, seed,
      breadth: r.between(...PROFILES[profile].breadth),
      limitShare: profile === 'at_limit' ? r.between(0.82, 0.97) : r.between(0.05, 0.6),
      npsOffset: r.int(0, 89),
    });
  }
  return { accounts, days, batch: Number(options.batch ?? 1000) };
}

// Whether the account opened a ticket on day k, and when it is resolved (a day, or never).
function ticketOn(a, k) {
  const r = rng(daySeed(a.seed, a.index, k, 1));
  if (!r.chance(a.p.tickets)) return null;
  return { k, resolvedOn: k + r.int(1, a.profile === 'at_risk' ? 20 : 4), sentiment: r.between(a.profile === 'at_risk' ? 0.1 : 0.3, 0.7) };
}

// The account's events on day k (the 24 hours before --now + k days).
function dayEvents(a, k) {
  if (k <= -a.tenureDays) return [];
  const r = rng(daySeed(a.seed, a.index, k, 0));
  const { id, p, profile, request } = a;
  const events = [];
  const dayEnd = a.nowMs + k * DAY_MS;
  const dayStart = dayEnd - DAY_MS;
  const at = () => dayStart + r.between(1, 23) * HOUR_MS;
  let n = 0;
  const add = (type, ms, value = 0, subject = '', sentiment) => {
    const e = event(id, `${type.toLowerCase()}-${k}-${++n}`, type, Math.min(ms, dayEnd - 60 * 1000), value, subject);
    if (sentiment !== undefined) e.sentiment = Math.round(sentiment * 100) / 100;
    events.push(e);
  };
  const features = FEATURES.slice(0, request.plan.feature_count);
  const favourites = features.slice(0, Math.ceil(features.length * a.breadth));
  const users = Math.min(request.seats, 14);  // at most a handful of logins recorded a day per account
  const weekday = new Date(dayStart + 12 * HOUR_MS).getUTCDay();
  const weekend = weekday === 0 || weekday === 6 ? 0.25 : 1;
  const intensity = Math.max(0.03, p.intensity(k, a)) * weekend;
  const cycle = (k + a.index) % 30 < 0 ? ((k + a.index) % 30) + 30 : (k + a.index) % 30;  // day of the billing month

  const logins = r.poisson(users * intensity * 0.6);
  for (let i = 0; i < logins; ++i) add('LOGIN', at());
  if (logins > 0) {
    const used = Math.max(1, Math.round(features.length * a.breadth * intensity * r.between(0.4, 1)));
    for (let i = 0; i < Math.min(used, 6); ++i) add('FEATURE_USED', at(), 0, r.pick(favourites));
  }
  if (cycle % 7 === 3) {
    add('EMAIL_SENT', at());
    if (r.chance(p.openRate)) add('EMAIL_OPENED', at());
    const share = Math.min(1, Math.max(0.05, p.intensity(k, a) * 1.05 + r.between(-0.05, 0.1)));
    add('SEATS_ACTIVE', at(), Math.max(1, Math.round(request.seats * share)));
  }
  if (r.chance(0.3 * intensity)) add('IN_APP_ENGAGED', at());
  if (cycle === 5) add('INVOICE_PAID', at(), profile === 'at_risk' && r.chance(0.5) ? r.int(5, 25) : 0);
  if (cycle % 10 === 1) {
    add('LIMIT_USAGE', at(), Math.round(request.plan.limits.api_calls * a.limitShare * (cycle + 1) / 30), 'api_calls');
  }
  const opened = ticketOn(a, k);
  if (opened) add('TICKET_OPENED', at(), 0, `T-${a.index}-${k + 1000}`, opened.sentiment);
  for (let j = k - 20; j < k; ++j) {
    const t = j > -a.tenureDays ? ticketOn(a, j) : null;
    if (t && t.resolvedOn === k) {
      add('TICKET_RESOLVED', at(), 0, `T-${a.index}-${j + 1000}`, r.between(0.4, 0.9));
      add('CSAT_RESPONSE', at(), r.int(profile === 'at_risk' ? 1 : 3, 5));
    }
  }
  if ((k + 1000 * 90 + a.npsOffset) % 90 === 0 && r.chance(0.8)) add('NPS_RESPONSE', at(), r.int(...p.nps), '', r.between(0.2, 0.9));
  if (profile === 'at_risk' || (profile === 'slipping' && k > -20)) {
    if (r.chance(0.08)) add('COMPETITOR_VISIT', at(), 0, r.pick(COMPETITORS));
    if (r.chance(0.04)) add('COMPETITOR_SEARCH', at(), 0, 'alternatives');
    if (r.chance(0.01)) add('COMPETITOR_EVALUATION', at(), 0, r.pick(COMPETITORS));
  }
  if (p.grows) {
    if (r.chance(0.04 * p.grows)) add('INTEGRATION_ADDED', at(), 0, r.pick(['salesforce', 'slack', 'hubspot', 'zendesk']));
    if (r.chance(0.012 * p.grows)) add('REFERRAL', at());
    if (r.chance(0.012 * p.grows)) add('EXPANSION', at(), Math.round(request.mrr * 0.1));
    if (cycle === 20 && r.chance(0.3 * p.grows)) add('ROI_REPORTED', at(), r.int(150, 400));
  }
  if (profile === 'at_limit' && r.chance(0.03)) add('FEATURE_REQUEST', at(), 0, 'higher-api-quota');
  return events;
}

// RecordEvents lines for `histories` (one list of events per account), each account's events together
// where they fit in one batch.
function batches(histories, batch) {
  const lines = [];
  let pending = [];
  const flush = () => {
    if (pending.length) lines.push(`RecordEvents\t${JSON.stringify({ events: pending })}`);
    pending = [];
  };
  for (const events of histories) {
    for (let at = 0; at < events.length; at += batch) {
      const chunk = events.slice(at, at + batch);
      if (pending.length + chunk.length > batch) flush();
      pending.push(...chunk);
    }
  }
  flush();
  return lines;
}

function portfolio(options) {
  const { accounts, days, batch } = makeAccounts(options);
  const lines = accounts.map((a) => `UpsertAccount\t${JSON.stringify({ account: a.request })}`);
  const histories = accounts.map((a) => {
    const events = [];
    for (let k = -days + 1; k <= 0; ++k) events.push(...dayEvents(a, k));
    return events;
  });
  return [...lines, ...batches(histories, batch)].join('\n') + '\n';
}

// One day's batches on stdout; or, with --range=A-B and --out_prefix=P, each day K of A..B into file PK.tsv.
function portfolioDay(options) {
  const { accounts, batch } = makeAccounts(options);
  const day = (k) => batches(accounts.map((a) => dayEvents(a, k)), batch).join('\n') + '\n';
  if (options.range === undefined) return day(Number(need(options, 'day')));
  const [from, to] = need(options, 'range').split('-').map(Number);
  const prefix = need(options, 'out_prefix');
  for (let k = from; k <= to; ++k) writeFileSync(`${prefix}${k}.tsv`, day(k));
  return '';
}

function main() {
  const [command, ...rest] = process.argv.slice(2);
  const options = parseArgs(rest);
  let out;
  switch (command) {
    case 'portfolio':
      out = portfolio(options);
      break;
    case 'portfolio-day':
      out = portfolioDay(options);
      break;
    case 'account': {
      const nowMs = Date.parse(need(options, 'now'));
      const account = healthyAccount(need(options, 'id'), nowMs, {
        mrr: Number(options.mrr ?? 1000),
        name: options.name ?? '',
        size: options.size ?? '',
        tenureDays: Number(options.tenure_days ?? 400),
      });
      out = JSON.stringify({ account }) + '\n';
      break;
    }
    case 'history': {
      const nowMs = Date.parse(need(options, 'now'));
      const id = need(options, 'id');
      const events = [];
      for (let m = 0; m < Number(options.months ?? 2); ++m) {
        events.push(...healthyMonth(id, nowMs - m * 30 * DAY_MS, m === 0 ? '' : 'earlier-'.repeat(m)));
      }
      if (options.limit_usage !== undefined) {
        const [limit, used] = options.limit_usage.split(':');
        events.push(event(id, 'api', 'LIMIT_USAGE', nowMs, Number(used), limit));
      }
      out = JSON.stringify({ events }) + '\n';
      break;
    }
    case 'logins': {
      const nowMs = Date.parse(need(options, 'now'));
      const id = need(options, 'id');
      const events = [];
      for (let i = 0; i < Number(options.count ?? 40); ++i) {
        events.push(event(id, `back-${i}`, 'LOGIN', nowMs - i * HOUR_MS));
      }
      out = JSON.stringify({ events }) + '\n';
      break;
    }
    default:
      throw new Error(`usage: generate.mjs portfolio|account|history --now=… (see the comment at the top)`);
  }
  process.stdout.write(out);
}

try {
  main();
} catch (e) {
  process.stderr.write(`generate.mjs: ${e.message}\n`);
  process.exit(2);
}
