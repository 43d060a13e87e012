#!/usr/bin/env bash
# A tour of Steward with real clients (issue #6): a throwaway redis-server and the four services as
# separate `steward` processes on loopback (as in production, and as tests/closed_loop_story_test.cc
# starts them), a synthetic portfolio of a few hundred accounts, then the closed loop told step by step
# with `buf curl`: an account's logins stop, its health falls a band, it enters the high-value/high-risk
# quadrant, the re-engagement playbook enrols it, its day-14/16/18 actions reach a WatchActions watcher
# as the manual clock advances; a second account comes back and leaves the playbook re-engaged; a third
# reaches 85% of a plan limit, upsell opens an opportunity and hands it to playbooks as an offer.
# docs/tour.md shows a run.
#
#   scripts/demo.sh              interactive: pauses before each step (press Enter)
#   scripts/demo.sh --no-pause   the same, without pauses
#   scripts/demo.sh --check      no pauses; exits 0 only if every step showed what it should, else
#                                non-zero naming the step (ctest runs this: demo_tour_test)
#   scripts/run.sh --demo        builds first, then runs this
#
# Options: --accounts=N (300) synthetic accounts. Environment: STEWARD_BINARY (default
# build-test/server/steward, else build/server/steward), STEWARD_DEMO_PARALLEL (4) concurrent
# `buf curl` calls while loading, STEWARD_DEMO_KEEP=1 keeps the logs' directory.
# Needs redis-server, node and buf (scripts/setup.sh installs them); everything else it starts, and it
# stops all of it on exit, Ctrl-C or failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEMO="$ROOT/scripts/demo"
START="2026-01-05T09:00:00Z"  # a Monday, as in tests/closed_loop_story_test.cc

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

pause=1
check=0
accounts=300
for arg in "$@"; do
  case "$arg" in
    --check) check=1 pause=0 ;;
    --no-pause) pause=0 ;;
    --accounts=*) accounts=${arg#*=} ;;
    -h | --help) usage; exit 0 ;;
    *) echo "demo: unknown argument $arg (try --help)" >&2; exit 2 ;;
  esac
done
[[ "$accounts" =~ ^[0-9]+$ ]] && ((accounts >= 6)) || { echo "demo: --accounts takes a number from 6" >&2; exit 2; }
[[ -t 0 && -t 1 ]] || pause=0  # nobody to press Enter

# ---- Tools ----

steward="${STEWARD_BINARY:-}"
if [[ -z "$steward" ]]; then
  for candidate in "$ROOT/build-test/server/steward" "$ROOT/build/server/steward"; do
    [[ -x "$candidate" ]] && { steward=$candidate; break; }
  done
fi
[[ -n "$steward" && -x "$steward" ]] ||
  { echo "demo: no steward binary (build it with scripts/run.sh or set STEWARD_BINARY)" >&2; exit 1; }
# buf's npm package starts the native binary from a Node wrapper; calling the native one directly saves
# ~80 ms a call, which adds up over the few hundred calls of the tour.
buf=""
for candidate in "$ROOT"/node_modules/@bufbuild/buf-*/bin/buf "$ROOT/node_modules/.bin/buf" "$(command -v buf || true)"; do
  [[ -n "$candidate" && -x "$candidate" ]] && { buf=$candidate; break; }
done
[[ -n "$buf" ]] || { echo "demo: buf not found (scripts/setup.sh installs it into node_modules/)" >&2; exit 1; }
for tool in node redis-server; do
  command -v "$tool" >/dev/null || { echo "demo: $tool not found (scripts/setup.sh installs it)" >&2; exit 1; }
done

bufcurl() { "$buf" curl --protocol grpc --http2-prior-knowledge "$@"; }
pick() { node "$DEMO/pick.mjs" "$@"; }
iso_at() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

# ---- Processes, and stopping them whatever happens ----

work="$(mktemp -d "${TMPDIR:-/tmp}/steward-demo.XXXXXX")"
steward_pids=()
redis_pid=""
watcher_pid=""
offers_pid=""
current_step="start-up"
failed=0

cleanup() {
  local status=$? pid
  set +e            # whatever is already gone, stop the rest
  trap - EXIT
  trap '' INT TERM  # a second Ctrl-C must not leave processes behind
  for pid in $watcher_pid $offers_pid; do kill "$pid" 2>/dev/null; done
  # Dependents first, so that none waits on a service that is already gone.
  local i
  for ((i = ${#steward_pids[@]} - 1; i >= 0; --i)); do kill -TERM "${steward_pids[i]}" 2>/dev/null || true; done
  for ((i = 0; i < 20; ++i)); do
    local alive=0
    for pid in "${steward_pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "${steward_pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  [[ -n "$redis_pid" ]] && kill -TERM "$redis_pid" 2>/dev/null
  wait 2>/dev/null || true
  if ((failed || (status != 0 && status != 130 && status != 143))) || [[ -n "${STEWARD_DEMO_KEEP:-}" ]]; then
    echo "demo: logs kept in $work" >&2
  else
    rm -rf "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM

# fail MESSAGE: names the step that did not show what it should, with the end of each log, and exits.
fail() {
  failed=1
  {
    echo
    echo "demo: FAILED in step \"$current_step\": $*"
    for log in "$work"/*.log; do
      [[ -f "$log" ]] || continue
      echo "--- last lines of $(basename "$log")"
      tail -n 8 "$log"
    done
  } >&2
  exit 1
}

free_port() {
  node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# ---- Narration ----

step_number=0
step_began=0
timings=""
step() {
  ((step_number == 0)) || timings+=" $step_number:$((SECONDS - step_began))s"
  step_began=$SECONDS
  current_step=$1
  step_number=$((step_number + 1))
  if ((pause && step_number > 1)); then
    read -r -p $'\n[Enter: next step, Ctrl-C: stop] ' _ || true
  fi
  echo
  echo "== $step_number. $1 =="
}
say() { printf '%s\n' "$@" | sed 's/^/# /'; }
# beat: in interactive mode, a pause at a turn of the story within a step.
beat() {
  if ((pause)); then read -r -p '[Enter: continue] ' _ || true; fi
}
blank() { echo; }

indent=""  # before the calls shown: within a turn of the story, they are indented under it
# call [--quiet] [--from SHOWN] [-H HEADER]... SVC METHOD [BODY]: shows the `buf curl` call as a reader
# would type it (SVC is S, G, P, B or C, printed at start-up), makes it and keeps its response in
# $work/out.json. BODY "@-" reads the request from stdin; --from names what produces it in the shown
# command. A failed call fails the step.
call() {
  local quiet=0 from="" headers=() shown_headers=""
  while (($#)); do
    case "$1" in
      --quiet) quiet=1; shift ;;
      --from) from=$2; shift 2 ;;
      -H) headers+=(-H "$2"); shown_headers+=" -H '$2'"; shift 2 ;;
      *) break ;;
    esac
  done
  local svc=$1 method=$2 body=${3:-}
  local url="${urls[$svc]}/$method"
  if ((!quiet)); then
    if [[ -n "$from" ]]; then
      echo "$indent\$ $from | bufcurl$shown_headers -d @- \$$svc/$method"
    elif [[ -n "$body" ]]; then
      echo "$indent\$ bufcurl$shown_headers -d '$body' \$$svc/$method"
    else
      echo "$indent\$ bufcurl$shown_headers \$$svc/$method"
    fi
  fi
  local args=("${headers[@]}")
  [[ -n "$body" ]] && args+=(-d "$body")
  if ! bufcurl "${args[@]}" "$url" >"$work/out.json" 2>"$work/call.err"; then
    cat "$work/call.err" >&2
    fail "$svc/$method failed"
  fi
}

# daycall: call, quiet after the story's first day.
daycall() { if ((quiet)); then call --quiet "$@"; else call "$@"; fi; }
# show EXPR: prints EXPR over the last response (see scripts/demo/pick.mjs), indented as output.
show() { pick "$work/out.json" "$1" | sed 's/^/  /'; }
# expect EXPR WHAT: fails the step unless EXPR holds for the last response.
expect() { pick --test "$work/out.json" "$1" || fail "expected $2; the response was: $(head -c 1500 "$work/out.json")"; }
# eventually SECONDS EXPR SVC METHOD BODY: repeats the call until EXPR holds for its response.
eventually() {
  local seconds=$1 expr=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  while :; do
    call --quiet "$@"
    pick --test "$work/out.json" "$expr" && return 0
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# ---- 1. Redis and the four services ----

step "Start Redis and the four services"
say "A throwaway redis-server, then scoring, segmentation, playbooks and upsell: four processes of the" \
  "same binary, each with --services=ONE, on free loopback ports, sharing one manual clock kept in Redis."

redis_port=""
for _ in 1 2 3 4 5; do  # a free port may be taken before redis-server binds it
  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work" --save '' --appendonly no \
    >"$work/redis.log" 2>&1 &
  redis_pid=$!
  for _i in $(seq 50); do
    grep -q "Ready to accept connections" "$work/redis.log" 2>/dev/null && break
    kill -0 "$redis_pid" 2>/dev/null || break
    sleep 0.1
  done
  grep -q "Ready to accept connections" "$work/redis.log" && break
  kill "$redis_pid" 2>/dev/null || true
  redis_pid=""
done
[[ -n "$redis_pid" ]] || fail "redis-server did not start"
echo "redis-server on 127.0.0.1:$redis_port (no persistence, in $work)"

declare -A port metrics_port urls
# start_service ROLE EXTRA_FLAGS...: starts one steward process and waits for its server_started line.
start_service() {
  local role=$1
  shift
  local log="$work/$role.log"
  local flags=(--services="$role" --listen=127.0.0.1:0 --store="redis://127.0.0.1:$redis_port/0"
    --manual_clock --manual_clock_start="$START" --refresh_interval=0s --segment_poll_interval=20ms
    --config_dir="$ROOT/config" --playbooks_dir="$ROOT/playbooks" --metrics_listen=127.0.0.1:0 "$@")
  "$steward" "${flags[@]}" >"$log" 2>&1 &
  steward_pids+=($!)
  local pid=$!
  for _ in $(seq 200); do
    grep -q '"server_started"' "$log" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || fail "steward --services=$role exited: $(tail -n 5 "$log")"
    sleep 0.1
  done
  local line
  line=$(grep -m1 '"server_started"' "$log") || fail "steward --services=$role did not start within 20 s"
  port[$role]=$(sed -E 's/.*"port":"([0-9]+)".*/\1/' <<<"$line")
  metrics_port[$role]=$(sed -E 's/.*"metrics_port":"([0-9]+)".*/\1/' <<<"$line")
  printf '%-13s on 127.0.0.1:%-5s (metrics on :%-5s)  steward --services=%s%s\n' "$role" "${port[$role]}" \
    "${metrics_port[$role]}" "$role" "$( (($#)) && printf ' %s' "$@")"
}
say "Each one: steward --services=ROLE [the addresses of the services it calls] --listen=127.0.0.1:0" \
  "  --store=redis://127.0.0.1:$redis_port/0 --manual_clock --manual_clock_start=$START --refresh_interval=0s" \
  "  --segment_poll_interval=20ms --config_dir=config --playbooks_dir=playbooks --metrics_listen=127.0.0.1:0"
start_service scoring
start_service segmentation --scoring_address="127.0.0.1:${port[scoring]}"
start_service playbooks --scoring_address="127.0.0.1:${port[scoring]}" --segmentation_address="127.0.0.1:${port[segmentation]}"
# Upsell hands its opportunities to playbooks where the binary can (--playbooks_address).
upsell_flags=(--scoring_address="127.0.0.1:${port[scoring]}" --segmentation_address="127.0.0.1:${port[segmentation]}")
if [[ "$("$steward" --helpfull 2>&1 || true)" == *--playbooks_address* ]]; then
  upsell_flags+=(--playbooks_address="127.0.0.1:${port[playbooks]}")
fi
start_service upsell "${upsell_flags[@]}"
urls[S]="http://127.0.0.1:${port[scoring]}/steward.v1.ScoringService"
urls[G]="http://127.0.0.1:${port[segmentation]}/steward.v1.SegmentationService"
urls[P]="http://127.0.0.1:${port[upsell]}/steward.v1.UpsellService"
urls[B]="http://127.0.0.1:${port[playbooks]}/steward.v1.PlaybookService"
urls[C]="http://127.0.0.1:${port[playbooks]}/steward.v1.ClockService"
blank
say "To try calls of your own in another terminal while the tour waits for Enter (the clock is moved" \
  "through the playbooks process, which runs due steps on the way):"
echo "alias bufcurl='$buf curl --protocol grpc --http2-prior-knowledge'" | sed "s#$ROOT/##"
for svc in S G P B C; do echo "$svc=${urls[$svc]}"; done

call C GetTime
show 'r.now'
expect "r.now === '$START'" "the manual clock at $START"
start_epoch=$(date -u -d "$START" +%s)

# ---- 2. The portfolio ----

step "Load a portfolio of $accounts synthetic accounts"
say "scripts/demo/generate.mjs makes $accounts accounts on four plans (starter, growth, pro, enterprise) with" \
  "sizes, industries, regions, MRR and tenure, and 60 days of history each: logins and feature use of" \
  "varied intensity (thriving, steady, slipping, at risk, onboarding, close to a plan limit), CS emails," \
  "seat counts, limit usage, invoices, tickets with CSAT, NPS answers, competitor signals, integrations." \
  "Every account goes in with UpsertAccount, the events with RecordEvents in batches of up to 1,000."
echo "\$ node scripts/demo/generate.mjs portfolio --now=$START --accounts=$accounts > portfolio.tsv"
node "$DEMO/generate.mjs" portfolio --now="$START" --accounts="$accounts" >"$work/portfolio.tsv"
echo "\$ # each line: METHOD<TAB>JSON, sent as:  printf '%s' \"\$json\" | bufcurl -d @- \$S/\$METHOD  (${STEWARD_DEMO_PARALLEL:-4} at a time)"

# load FILE METHOD [WHAT]: sends every METHOD request of FILE (lines "METHOD<TAB>JSON"), a few at a
# time, with progress if WHAT names them.
load() {
  local file=$1 method=$2 what=${3:-} parallel=${STEWARD_DEMO_PARALLEL:-4}
  local total n=0 began=$SECONDS running=() finished pid dir
  total=$(grep -c "^$method"$'\t' "$file") || return 0
  dir="$work/load/$(basename "$file")/$method"
  mkdir -p "$dir"
  while IFS=$'\t' read -r m body; do
    [[ "$m" == "$method" ]] || continue
    while ((${#running[@]} >= parallel)); do
      finished=""
      wait -n -p finished "${running[@]}" || true
      local still=()
      for pid in "${running[@]}"; do [[ "$pid" == "$finished" ]] || still+=("$pid"); done
      running=("${still[@]}")
    done
    n=$((n + 1))
    (printf '%s' "$body" 2>/dev/null | bufcurl -d @- "${urls[S]}/$method" >"$dir/$n.json" 2>"$dir/$n.err" || touch "$dir/failed") &
    running+=($!)
    if [[ -n "$what" ]] && ((n % (total / 4 > 0 ? total / 4 : 1) == 0 || n == total)); then
      echo "  $what: $n/$total sent ($((SECONDS - began)) s)"
    fi
  done <"$file"
  wait "${running[@]}" || true
  [[ ! -e "$dir/failed" ]] || fail "a $method call failed: $(cat "$dir"/*.err | head -n 5)"
}
# recorded DIR: "N events" recorded by the RecordEvents responses in DIR; fails if none.
recorded() {
  node -e '
    const fs = require("fs"), dir = process.argv[1];
    const sum = { recorded: 0, duplicates: 0, expired: 0 };
    for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".json"))) {
      const r = JSON.parse(fs.readFileSync(`${dir}/${f}`, "utf8"));
      for (const k in sum) sum[k] += r[k] ?? 0;
    }
    console.log(`${sum.recorded} events (${sum.duplicates} duplicates, ${sum.expired} expired)`);
    process.exit(sum.recorded > 0 ? 0 : 1);
  ' "$1" || fail "no events recorded: $(cat "$1"/*.json | head -c 300)"
}
load_began=$SECONDS
load "$work/portfolio.tsv" UpsertAccount "accounts"
load "$work/portfolio.tsv" RecordEvents "event batches"
summary=$(recorded "$work/load/portfolio.tsv/RecordEvents")
echo "  recorded $summary"
echo "  loaded in $((SECONDS - load_began)) s"
blank
say "What scoring made of a few of them (health 0–100 and its band, churn probability, CLV):"
call S BatchGetScores '{"account_ids": ["acct-0001", "acct-0002", "acct-0003", "acct-0004", "acct-0005", "acct-0006"]}'
show 'r.scores.map((s) => `${s.accountId}  health ${s.health.score.toFixed(1).padStart(5)} ${s.health.band.padEnd(9)} churn ${s.churn.probability.toFixed(2)}  clv ${Math.round(clv(s) ?? 0)}`).join("\n")'
expect 'r.scores.length === 6 && new Set(r.scores.map((s) => s.health.band)).size >= 2' "six accounts scored, in more than one band"

# ---- 3. Two healthy enterprise customers ----

step "Two enterprise customers with a healthy past"
say "\"drifting\" and \"returning\": 6,000 a month, customers for 400 days, 60 days of healthy use (two" \
  "logins a day, 9 of 10 features, engaged emails, 8 of 10 seats active, a promoter's NPS answer)."
for id in drifting returning; do
  call --from "node scripts/demo/generate.mjs account --id=$id --now=$START --mrr=6000" S UpsertAccount @- \
    < <(node "$DEMO/generate.mjs" account --id="$id" --now="$START" --mrr=6000)
  call --from "node scripts/demo/generate.mjs history --id=$id --now=$START --months=2" S RecordEvents @- \
    < <(node "$DEMO/generate.mjs" history --id="$id" --now="$START" --months=2)
  show 'r'
done
call S GetScores '{"account_id": "drifting"}'
show '({health: {score: round(r.scores.health.score, 1), band: r.scores.health.band, action: r.scores.health.action}, churn: {probability: round(r.scores.churn.probability), level: r.scores.churn.level}, loginFrequencyRatio: round(feature(r.scores, "login_frequency_ratio"))})'
expect 'r.scores.health.band === "good"' "drifting's health in the good band"
health_before=$(pick "$work/out.json" 'r.scores.health.band')
eventually 30 'r.assignments.some((a) => a.segmentId === "quadrant/high-value-low-risk")' \
  G GetAccountSegments '{"account_id": "drifting"}' ||
  fail "drifting did not reach quadrant/high-value-low-risk"
call G GetAccountSegments '{"account_id": "drifting"}'
show 'r.assignments.filter((a) => ["quadrant", "clv_tier", "persona"].includes(a.segmentation)).map((a) => ({segmentId: a.segmentId, reason: a.reason, treatment: a.treatment}))'

# ---- 4. A CS tool watches ----

step "A CS tool watches the re-engagement playbook's actions"
say "WatchActions is a server stream; from cursor \"0-0\" it replays the kept actions, then follows." \
  "It runs in the background for the rest of the tour; its output goes to actions.json."
echo "\$ bufcurl -d '{\"playbook_ids\": [\"re-engagement\"], \"after\": \"0-0\"}' \$B/WatchActions > actions.json &"
bufcurl -d '{"playbook_ids": ["re-engagement"], "after": "0-0"}' "${urls[B]}/WatchActions" \
  >"$work/actions.json" 2>"$work/watch.log" &
watcher_pid=$!

# ---- 5. The logins stop ----

step "The logins stop; the clock advances a day at a time"
say "From now on both accounts only use one feature a day. Each day: AdvanceClock by one day (on the" \
  "playbooks process: due steps run on the way), the portfolio's activity of that day, the two accounts'" \
  "feature use, then what the services made of it: drifting's scores (GetScores) and both accounts'" \
  "enrolments (ListEnrollments). The first day's calls in full, then a line a day:"
dropped_day=0 band_fell_day=0 high_risk_day=0 enrolled_day=0 returned_day=0 exited_day=0
seen_actions=0
last_day=38
# The portfolio's days, made at once (one node start instead of one a day).
node "$DEMO/generate.mjs" portfolio-day --now="$START" --accounts="$accounts" --range=1-$((last_day + 5)) \
  --out_prefix="$work/day-"
# below DAY's numbers: what one day's calls showed, for the table and the checks.
below() { awk -v x="$1" -v y="$2" 'BEGIN { exit !(x < y) }'; }
for ((day = 1; day <= last_day; ++day)); do
  quiet=$((day > 1))
  now=$(iso_at $((start_epoch + day * 86400)))
  hour_ago=$(iso_at $((start_epoch + day * 86400 - 3600)))
  ((quiet)) || echo
  daycall C AdvanceClock '{"by": "86400s"}'
  ((quiet)) || show 'r'
  cp "$work/out.json" "$work/clock.json"
  load "$work/day-$day.tsv" RecordEvents
  if ((!quiet)); then
    echo "\$ node scripts/demo/generate.mjs portfolio-day --now=$START --day=$day > day-$day.tsv  # the portfolio's day, sent as above"
    echo "  $(recorded "$work/load/day-$day.tsv/RecordEvents")"
  fi
  events=$(printf '{"events": [%s, %s]}' \
    "{\"event_id\": \"quiet-use-$day\", \"account_id\": \"drifting\", \"type\": \"EVENT_TYPE_FEATURE_USED\", \"time\": \"$hour_ago\", \"subject\": \"feature-1\"}" \
    "{\"event_id\": \"quiet-use-$day\", \"account_id\": \"returning\", \"type\": \"EVENT_TYPE_FEATURE_USED\", \"time\": \"$hour_ago\", \"subject\": \"feature-1\"}")
  daycall S RecordEvents "$events"
  ((quiet)) || show 'r'
  daycall S GetScores '{"account_id": "drifting"}'
  ((quiet)) || show '`… health ${round(r.scores.health.score, 1)} (${r.scores.health.band}), churn probability ${round(r.scores.churn.probability)}, login_frequency_ratio ${round(feature(r.scores, "login_frequency_ratio"))} …`'
  cp "$work/out.json" "$work/scores.json"
  daycall B ListEnrollments '{"account_id": "drifting"}'
  ((quiet)) || show '`… ${r.enrollments?.length ?? 0} enrolments: ${r.enrollments.map((e) => e.playbookId).join(", ")}`'
  cp "$work/out.json" "$work/drifting.json"
  daycall B ListEnrollments '{"account_id": "returning"}'
  ((quiet)) || { show '`… ${r.enrollments?.length ?? 0} enrolments: ${r.enrollments.map((e) => e.playbookId).join(", ")}`'; echo; }
  cp "$work/out.json" "$work/returning.json"
  # One node start for everything the day's responses tell.
  read -r clock ratio band probability score d_id d_state r_state r_steps r_exit count < <(node -e '
    const fs = require("fs");
    const json = (f) => JSON.parse(fs.readFileSync(f, "utf8"));
    const [clockFile, scoresFile, dFile, rFile, actionsFile] = process.argv.slice(1);
    const s = json(scoresFile).scores;
    const re = (f) => (json(f).enrollments ?? []).find((e) => e.playbookId === "re-engagement") ?? {};
    const d = re(dFile), r = re(rFile);
    const f = s.features.find((f) => f.name === "login_frequency_ratio");
    const st = (e) => (e.state ?? "-").replace("ENROLLMENT_STATE_", "");
    const actions = (fs.readFileSync(actionsFile, "utf8").match(/"accountId": "(drifting|returning)"/g) ?? []).length;
    console.log(json(clockFile).now, f ? (f.value ?? 0) : 1, s.health.band, s.churn.probability ?? 0,
      (s.health.score ?? 0).toFixed(1), d.enrollmentId ?? "-", st(d), st(r), (r.steps ?? []).length, r.exitReason || "-", actions);
  ' "$work/clock.json" "$work/scores.json" "$work/drifting.json" "$work/returning.json" "$work/actions.json")
  [[ "$clock" == "$now" ]] || fail "the clock is at $clock, not $now"
  d_show=$([[ $d_state == - ]] && echo - || echo "$d_state")
  r_show=$([[ $r_state == - ]] && echo - || echo "$r_state, $r_steps steps$([[ $r_exit != - ]] && echo ", $r_exit")")
  ((quiet)) || printf '%-4s %-11s %-12s %-7s %-9s %-6s %-24s %s\n' day date logins/usual health band churn "drifting's enrolment" "returning's"
  printf '%-4s %-11s %-12s %-7s %-9s %-6s %-24s %s\n' "$day" "${now:0:10}" "$(printf '%.2f' "$ratio")" \
    "$score" "$band" "$(printf '%.2f' "$probability")" "$d_show" "$r_show"

  if ((dropped_day == 0)) && below "$ratio" 0.5; then
    dropped_day=$day
    echo "  -> logins of the last 30 days fell under half the usual (login_frequency_ratio < 0.5): re-engagement's trigger holds from today; it needs 14 days"
  fi
  if ((band_fell_day == 0)) && [[ "$band" != "$health_before" ]]; then
    band_fell_day=$day
    echo "  -> health fell a band: $health_before -> $band"
    pick "$work/scores.json" '({health: {score: round(r.scores.health.score, 1), band: r.scores.health.band, action: r.scores.health.action, components: (r.scores.health.components ?? []).map((c) => `${c.name} ${round(c.value ?? 0, 1)}`).join(", ")}})' | sed 's/^/     /'
    beat
  fi
  if ((high_risk_day == 0)) && ! below "$probability" 0.4; then
    high_risk_day=$day
    echo "  -> churn probability reached 0.4: segmentation moves drifting to the high-value/high-risk quadrant"
    eventually 30 'r.assignments.some((a) => a.segmentId === "quadrant/high-value-high-risk")' \
      G GetAccountSegments '{"account_id": "drifting"}' || fail "drifting did not enter quadrant/high-value-high-risk"
    echo "     \$ bufcurl -d '{\"account_id\": \"drifting\"}' \$G/GetAccountSegments"
    pick "$work/out.json" 'r.assignments.filter((a) => a.segmentation === "quadrant").map((a) => ({segmentId: a.segmentId, reason: a.reason, treatment: a.treatment}))' | sed 's/^/     /'
    beat
  fi
  if ((enrolled_day == 0)) && [[ "$d_id" != - ]]; then
    enrolled_day=$day
    echo "  -> 14 days under half: the playbooks process enrolled drifting (and returning) by itself"
    echo "     \$ bufcurl -d '{\"account_id\": \"drifting\"}' \$B/ListEnrollments"
    pick "$work/drifting.json" '(r.enrollments ?? []).filter((e) => e.playbookId === "re-engagement").map((e) => ({enrollmentId: e.enrollmentId, source: e.source, state: e.state, enrolledTime: e.enrolledTime, nextStepId: e.nextStepId, nextDueTime: e.nextDueTime}))' | sed 's/^/     /'
    beat
  fi
  # New actions for the two on the watcher's stream (it may lag a moment behind the clock).
  expected_actions=$seen_actions
  if ((enrolled_day > 0)); then
    for offset in 14 16 18; do
      if ((day == dropped_day + offset)); then expected_actions=$((seen_actions + (offset == 18 && returned_day > 0 ? 1 : 2))); fi
    done
  fi
  deadline=$((SECONDS + 10))
  while ((count < expected_actions && SECONDS < deadline)); do
    sleep 0.1
    count=$(pick "$work/actions.json" 'docs.filter((d) => ["drifting", "returning"].includes(d.action?.accountId)).length')
  done
  if ((count > seen_actions)); then
    count=$(pick "$work/actions.json" 'docs.filter((d) => ["drifting", "returning"].includes(d.action?.accountId)).length')
  fi
  if ((count > seen_actions)); then
    echo "  -> new on the WatchActions stream (actions.json):"
    pick "$work/actions.json" "actionLines(docs.slice(0), ['drifting', 'returning']).split('\n').slice($seen_actions).join('\n')" | sed 's/^/     /'
    beat
    seen_actions=$count
  fi
  if ((returned_day == 0)) && ((r_steps == 2)); then
    returned_day=$day
    echo "  -> returning got the day-16 in-app offer (7 days of a premium feature free) and comes back: 40 logins over the last two days"
    indent="     "
    call --from "node scripts/demo/generate.mjs logins --id=returning --now=$now --count=40" S RecordEvents @- \
      < <(node "$DEMO/generate.mjs" logins --id=returning --now="$now" --count=40)
    indent=""
    pick "$work/out.json" 'r' | sed 's/^/     /'
    beat
  fi
  if ((exited_day == 0)) && [[ "$r_state" == EXITED ]]; then
    exited_day=$day
    echo "  -> returning's engagement is back over half its usual: the enrolment ended, re-engaged"
    beat
  fi
done
((dropped_day > 0)) || fail "drifting's logins never fell under half the usual"
((band_fell_day > 0)) || fail "drifting's health never fell a band"
((high_risk_day > 0)) || fail "drifting's churn probability never reached 0.4"
((enrolled_day > 0)) || fail "drifting was never enrolled in re-engagement"
((returned_day > 0)) || fail "returning never got the day-16 offer"
((exited_day > 0)) || fail "returning's enrolment did not end after it came back"
((seen_actions == 5)) || fail "the watcher saw $seen_actions actions for the two, not 5"

# ---- 6. Where the story ended ----

step "Where the two enrolments ended"
call S GetScores '{"account_id": "drifting"}'
show '`drifting: health ${round(r.scores.health.score, 1)} (${r.scores.health.band}), churn probability ${round(r.scores.churn.probability)} (${r.scores.churn.level})`'
expect 'r.scores.health.band === "critical"' "drifting's health critical after 38 quiet days"
dropped_time=$(iso_at $((start_epoch + dropped_day * 86400)))
say "Engagement fell under half on day $dropped_day ($dropped_time); the playbook enrolled both on day" \
  "$enrolled_day, dated from when the trigger began to hold, and SPEC's day offsets count from then."
call B ListEnrollments '{"account_id": "drifting"}'
show '(r.enrollments ?? []).filter((e) => e.playbookId === "re-engagement").map((e) => ({enrollmentId: e.enrollmentId, state: e.state, source: e.source, enrolledTime: e.enrolledTime, endedTime: e.endedTime, steps: (e.steps ?? []).map((s) => s.stepId)}))'
expect "(r.enrollments ?? []).some((e) => e.playbookId === 're-engagement' && e.source === 'ENROLLMENT_SOURCE_TRIGGER' && e.state === 'ENROLLMENT_STATE_COMPLETED' && date(e.enrolledTime) === '${dropped_time:0:10}')" \
  "drifting's re-engagement enrolment COMPLETED, source TRIGGER, enrolled as of $dropped_time"
drifting_enrollment=$(pick "$work/out.json" '(r.enrollments ?? []).find((e) => e.playbookId === "re-engagement").enrollmentId')
((enrolled_day == dropped_day + 14)) || fail "enrolled on day $enrolled_day, not 14 days after day $dropped_day"
call B ListEnrollments '{"account_id": "returning"}'
show '(r.enrollments ?? []).filter((e) => e.playbookId === "re-engagement").map((e) => ({enrollmentId: e.enrollmentId, state: e.state, exitReason: e.exitReason, goalReached: e.goalReached, endedTime: e.endedTime, steps: (e.steps ?? []).map((s) => s.stepId)}))'
expect "(r.enrollments ?? []).some((e) => e.playbookId === 're-engagement' && e.state === 'ENROLLMENT_STATE_EXITED' && e.exitReason === 're_engaged' && e.goalReached)" \
  "returning's enrolment EXITED, re_engaged, goal reached"
returning_enrollment=$(pick "$work/out.json" '(r.enrollments ?? []).find((e) => e.playbookId === "re-engagement").enrollmentId')
blank
say "What the watcher received for the two (actions.json; one line per action: created, account, step," \
  "channel), and the first action in full:"
echo "\$ cat actions.json"
pick "$work/actions.json" "actionLines(docs, ['drifting', 'returning'])" | sed 's/^/  /'
pick "$work/actions.json" "(docs.find((d) => d.action?.accountId === 'drifting') ?? {}).action" | sed 's/^/  /'
others=$(pick "$work/actions.json" "docs.filter((d) => d.action && !['drifting', 'returning'].includes(d.action.accountId)).length")
say "(and $others more re-engagement actions for slipping accounts of the synthetic portfolio)"
actions_expr() {  # the unique actions of enrolment $1 as "step@days-from-drop:channel"
  echo "unique(docs.map((d) => d.action).filter((a) => a && a.enrollmentId === '$1'), 'actionId').map((a) => \`\${a.stepId}@\${days('$dropped_time', a.createdTime)}:\${a.channel}\`).join(' ')"
}
got=$(pick "$work/actions.json" "$(actions_expr "$drifting_enrollment")")
[[ "$got" == "day_14_we_miss_you@14:CHANNEL_EMAIL day_16_premium_trial@16:CHANNEL_IN_APP day_18_outreach@18:CHANNEL_CALL" ]] ||
  fail "drifting's actions on WatchActions were \"$got\", not day 14 email, day 16 in-app, day 18 call"
got=$(pick "$work/actions.json" "$(actions_expr "$returning_enrollment")")
[[ "$got" == "day_14_we_miss_you@14:CHANNEL_EMAIL day_16_premium_trial@16:CHANNEL_IN_APP" ]] ||
  fail "returning's actions on WatchActions were \"$got\", not day 14 email and day 16 in-app only"

# ---- 7. An upsell ----

step "Another account reaches 85% of a plan limit"
busy_now=$(iso_at $((start_epoch + last_day * 86400)))
say "\"busy\": 1,000 a month on the growth plan (1,000 API calls a month). Its CRM sync sends a healthy" \
  "month and today's API usage, 850 calls, in one batch under its own request id; each process logs what" \
  "it does about it under that id."
call --from "node scripts/demo/generate.mjs account --id=busy --now=$busy_now" S UpsertAccount @- \
  < <(node "$DEMO/generate.mjs" account --id=busy --now="$busy_now")
call --from "node scripts/demo/generate.mjs history --id=busy --now=$busy_now --months=1 --limit_usage=api_calls:850" \
  -H "x-request-id: crm-sync-4711" S RecordEvents @- \
  < <(node "$DEMO/generate.mjs" history --id=busy --now="$busy_now" --months=1 --limit_usage=api_calls:850)
show 'r'
say "Upsell follows the change feed and opens an opportunity by itself; a CS tool lists it:"
eventually 30 '(r.opportunities ?? []).length === 1' P ListOpportunities '{"account_id": "busy", "trigger_id": "limit"}' ||
  fail "no limit opportunity for busy"
call P ListOpportunities '{"account_id": "busy", "trigger_id": "limit"}'
show 'r.opportunities.map((o) => ({opportunityId: o.opportunityId, state: o.state, trigger: o.trigger.triggerId, reason: o.trigger.reason, offer: o.trigger.offer, createTime: o.createTime}))'
expect 'r.opportunities[0].state === "OPPORTUNITY_STATE_OPEN" && r.opportunities[0].trigger.offer.targetPlan === "pro"' \
  "an OPEN opportunity offering the pro plan"
opportunity=$(pick "$work/out.json" 'r.opportunities[0].opportunityId')
beat
say "Upsell hands the opportunity to playbooks: busy is enrolled in the upsell offer, the opportunity in" \
  "the enrolment's context, and the day-0 offer goes out carrying it (a second watcher, on upsell-offer):"
eventually 30 '(r.enrollments ?? []).some((e) => e.playbookId === "upsell-offer")' B ListEnrollments '{"account_id": "busy"}' ||
  fail "busy was not enrolled in upsell-offer"
call B ListEnrollments '{"account_id": "busy"}'
show '(r.enrollments ?? []).filter((e) => e.playbookId === "upsell-offer").map((e) => ({enrollmentId: e.enrollmentId, source: e.source, requestId: e.requestId, state: e.state, context: e.context}))'
expect "(r.enrollments ?? []).some((e) => e.playbookId === 'upsell-offer' && e.requestId === 'upsell:$opportunity' && e.context?.opportunity_id === '$opportunity' && e.context?.target_plan === 'pro')" \
  "busy's upsell-offer enrolment made for $opportunity (request id upsell:$opportunity, the opportunity in its context)"
echo "\$ bufcurl -d '{\"playbook_ids\": [\"upsell-offer\"], \"after\": \"0-0\"}' \$B/WatchActions > offers.json &"
bufcurl -d '{"playbook_ids": ["upsell-offer"], "after": "0-0"}' "${urls[B]}/WatchActions" >"$work/offers.json" 2>"$work/offers.log" &
offers_pid=$!
for _ in $(seq 100); do
  pick --test "$work/offers.json" "docs.some((d) => d.action?.accountId === 'busy')" && break
  sleep 0.1
done
kill "$offers_pid" 2>/dev/null || true
wait "$offers_pid" 2>/dev/null || true
pick "$work/offers.json" "(docs.find((d) => d.action?.accountId === 'busy') ?? {}).action" | sed 's/^/  /'
pick --test "$work/offers.json" "docs.some((d) => d.action?.accountId === 'busy' && d.action.stepId === 'day_0_offer' && d.action.context?.opportunity_id === '$opportunity' && d.action.context?.trigger_id === 'limit')" ||
  fail "no day_0_offer action for busy carrying $opportunity on WatchActions"
beat
say "The processes' logs, under the caller's request id:"
echo "\$ grep crm-sync-4711 upsell.log playbooks.log"
for _ in $(seq 100); do
  grep -q "\"upsell_opportunity_opened\".*\"request_id\":\"crm-sync-4711\"" "$work/upsell.log" && break
  sleep 0.1
done
grep -h "crm-sync-4711" "$work/upsell.log" "$work/playbooks.log" | sed -E 's/^\{"time":"[^"]*",/{/; s/^/  /'
grep "\"upsell_opportunity_opened\"" "$work/upsell.log" | grep "\"request_id\":\"crm-sync-4711\"" | grep -q "$opportunity" ||
  fail "upsell did not log upsell_opportunity_opened for $opportunity under request id crm-sync-4711"
grep "\"playbook_enrolled\"" "$work/playbooks.log" | grep "\"request_id\":\"crm-sync-4711\"" | grep -q "busy/nps-promoter/" ||
  fail "playbooks did not log the nps-promoter enrolment of busy under request id crm-sync-4711"

blank
say "Five more quiet days: nothing more for drifting and returning (their enrolments are over)."
call C AdvanceClock '{"by": "432000s"}'
show 'r'
for ((day = last_day + 1; day <= last_day + 5; ++day)); do load "$work/day-$day.tsv" RecordEvents; done
sleep 0.5
got=$(pick "$work/actions.json" "unique(docs.map((d) => d.action).filter((a) => a && ['$drifting_enrollment', '$returning_enrollment'].includes(a.enrollmentId)), 'actionId').length")
((got == 5)) || fail "drifting and returning have $got actions after five more days, not 5"
echo "  still 5 actions for the two"

# ---- 8. Metrics ----

step "What the processes counted"
say "Each process serves Prometheus metrics on its own port:"
metrics() {
  if command -v curl >/dev/null; then curl -fsS "http://127.0.0.1:$1/metrics"; else
    node -e 'fetch(process.argv[1]).then((r) => r.text()).then((t) => process.stdout.write(t))' "http://127.0.0.1:$1/metrics"
  fi
}
echo "\$ curl -s http://127.0.0.1:${metrics_port[scoring]}/metrics | grep -E '^steward_(scoring_events_total|grpc_server_requests_total\\{method=\"/steward.v1.ScoringService/(RecordEvents|UpsertAccount)\")'"
metrics "${metrics_port[scoring]}" >"$work/scoring.metrics" || fail "no metrics from scoring"
grep -E '^steward_(scoring_events_total|grpc_server_requests_total\{method="/steward.v1.ScoringService/(RecordEvents|UpsertAccount)")' "$work/scoring.metrics" | sed 's/^/  /'
grep -q '^steward_scoring_events_total{result="recorded"}' "$work/scoring.metrics" || fail "scoring's metrics lack steward_scoring_events_total"
echo "\$ curl -s http://127.0.0.1:${metrics_port[playbooks]}/metrics | grep -E '^steward_playbook_(enrollments_started|actions)_total' | grep -E 're-engagement|channel'"
metrics "${metrics_port[playbooks]}" >"$work/playbooks.metrics" || fail "no metrics from playbooks"
grep -E '^steward_playbook_(enrollments_started|actions)_total' "$work/playbooks.metrics" | grep -E 're-engagement|channel' | sed 's/^/  /'
grep -E '^steward_playbook_enrollments_started_total\{.*re-engagement' "$work/playbooks.metrics" | grep -q . ||
  fail "playbooks' metrics lack re-engagement enrolments"

blank
timings+=" $step_number:$((SECONDS - step_began))s"
echo "demo: the story ran to the end in $SECONDS s (per step:$timings)$( ((check)) && echo "; every check passed")."
if ((pause)); then
  read -r -p '[Enter: stop the services and exit] ' _ || true
fi
