// mqlab's signup page: POST /signup, then the job's states pushed over Server-Sent Events
// (GET /signup/{id}/events). No framework, no build step, nothing from the network.
//
// Everything the page shows goes in with textContent: a name like <img onerror=...> stays
// text. The page's own words are in TEXT below (English, and Korean in the course's
// vocabulary: mqlab/report/i18n/glossary.py); what the server says is shown as it said it.
"use strict";

const TEXT = {
  en: {
    title: "Sign up: the welcome mail demo",
    "mode.label": "This app server runs:",
    "mode.sync": "synchronous",
    "mode.thread": "in-process async (threads)",
    "mode.broker": "message broker (RabbitMQ)",
    "expect.sync":
      "You wait: the app server scans the attachment and sends the mail before it answers. " +
      "The answer is the outcome (201 sent, 422 quarantined, 502 not sent); there is nothing to follow afterwards.",
    "expect.thread":
      "The answer (202) comes at once; threads inside the app server do the work, and the job's " +
      "states live in its memory. If the app server is killed, the job is lost and this page will never hear what became of it.",
    "expect.broker":
      "The answer (202) comes as soon as the broker holds the job; a worker scans and sends it, " +
      "and its progress arrives here as it happens. A killed worker or app server loses nothing: the job waits in the queue.",
    "expect.other": "This app server keeps no job status this page can follow.",
    "form.email": "Email",
    "form.name": "Name",
    "form.attachment": "Attachment (optional)",
    "form.send": "Sign up",
    "form.eicar": "Sign up with the EICAR test virus",
    "form.eicar_hint":
      "EICAR is a harmless test file that every virus scanner detects: the scan quarantines the mail.",
    "form.too_big": "The attachment is larger than {kib} KiB, the most the app server takes.",
    "form.required": "Email and name are required.",
    "job.title": "Your signup",
    "job.who": "For",
    "job.id": "Job id",
    "job.answer": "Answer",
    "job.state": "State",
    "job.history": "What happened",
    "job.server_said": "The app server said:",
    "job.retry": "Try again with the same job id",
    "job.eicar": "(with the EICAR test virus)",
    "job.file": "(with {name})",
    answer: "{code} {meaning}, in {ms} ms",
    "code.201": "sent",
    "code.202": "accepted",
    "code.400": "bad input",
    "code.404": "not found",
    "code.409": "job id taken",
    "code.413": "too large",
    "code.422": "quarantined",
    "code.502": "not sent",
    "code.503": "unavailable",
    "code.other": "",
    "state.waiting": "waiting for the answer",
    "state.queued": "queued",
    "state.scanning": "scanning",
    "state.retrying": "retrying",
    "state.sent": "sent",
    "state.quarantined": "quarantined",
    "state.dead": "dead-lettered",
    "state.dropped": "dropped",
    "state.not_sent": "not sent",
    "state.refused": "refused",
    "state.not_taken": "not taken",
    "state.unknown": "unknown",
    "note.sync": "The answer is the outcome: there is nothing more to follow.",
    "note.following": "Following the job: the app server pushes each change here.",
    "note.lost": "Lost the connection to the app server at {time}; reconnecting…",
    "note.back": "Connected again at {time}.",
    "note.stale":
      "The app server lost its status log at {time}: the state shown is the last " +
      "it heard, and the job may have moved on since.",
    "note.live": "The app server hears the status log again since {time}.",
    "note.final": "Final state: {state}. The app server ended the stream.",
    "note.unknown":
      "The app server does not know this job. It never will: whatever happened to the mail, nobody can tell you now.",
    "note.unknown.thread":
      "The app server does not know this job: in-process async keeps job states only in the app server's memory, " +
      "and that memory died with it. Nobody can tell you whether the mail was sent or lost.",
    "note.no_status": "This app server keeps no job status to follow.",
    "note.busy": "The app server cannot stream the status now; asking again in {s} s.",
    "note.gave_up": "No news after {s} s of asking; reload the page to ask again.",
    "note.503":
      "The app server could not take the job now. Try again in {s} s: the button sends it with the same job id, " +
      "so the app server can tell a retry from a new signup.",
    "note.503.unknown": "It may still have been taken: nobody knows yet.",
    "note.refused": "The app server refused the request; nothing was queued or sent.",
    "note.network":
      "No answer from the app server ({why}): the outcome is unknown. Try again with the same job id.",
    "history.lost": "connection lost",
    "history.back": "connected again",
    "history.stale": "the app server lost its status log",
    "history.live": "the app server hears its status log again",
    "history.unknown": "the app server does not know this job",
    footer: "The same states, without the page:",
  },
  ko: {
    title: "회원가입: 환영 메일 데모",
    "mode.label": "이 앱 서버의 처리 방식:",
    "mode.sync": "동기 처리",
    "mode.thread": "내부 비동기 (스레드)",
    "mode.broker": "메시지 브로커 (RabbitMQ)",
    "expect.sync":
      "기다려야 합니다. 앱 서버가 첨부파일을 검사하고 메일을 보낸 뒤에야 응답합니다. " +
      "응답이 곧 결과이고(201 발송 완료, 422 격리, 502 발송 실패), 그 뒤로 더 지켜볼 것은 없습니다.",
    "expect.thread":
      "응답(202)은 바로 옵니다. 일은 앱 서버 안의 스레드가 하고, 작업 상태도 앱 서버 메모리에만 있습니다. " +
      "앱 서버가 강제 종료되면 작업은 유실되고, 이 페이지는 그 작업이 어떻게 됐는지 끝내 듣지 못합니다.",
    "expect.broker":
      "브로커가 작업을 받아 두는 즉시 응답(202)합니다. 검사와 발송은 워커가 하고, 그 진행 상황이 " +
      "이 페이지로 바로바로 전달됩니다. 워커나 앱 서버가 강제 종료되어도 작업은 큐에 남아 있어 잃는 것이 없습니다.",
    "expect.other": "이 앱 서버는 이 페이지가 지켜볼 작업 상태를 남기지 않습니다.",
    "form.email": "이메일",
    "form.name": "이름",
    "form.attachment": "첨부파일 (선택)",
    "form.send": "가입하기",
    "form.eicar": "EICAR 테스트 바이러스를 첨부해 가입하기",
    "form.eicar_hint":
      "EICAR는 모든 백신이 바이러스로 잡아내는 무해한 테스트 파일입니다. 검사에서 걸려 메일은 격리됩니다.",
    "form.too_big": "첨부파일이 {kib} KiB보다 큽니다. 앱 서버가 받을 수 있는 최대 크기입니다.",
    "form.required": "이메일과 이름을 입력해 주세요.",
    "job.title": "내 가입 요청",
    "job.who": "받는 사람",
    "job.id": "작업 ID",
    "job.answer": "응답",
    "job.state": "상태",
    "job.history": "진행 기록",
    "job.server_said": "앱 서버의 메시지:",
    "job.retry": "같은 작업 ID로 다시 시도",
    "job.eicar": "(EICAR 테스트 바이러스 첨부)",
    "job.file": "({name} 첨부)",
    answer: "{code} {meaning}, {ms} ms 걸림",
    "code.201": "발송 완료",
    "code.202": "접수",
    "code.400": "잘못된 입력",
    "code.404": "찾을 수 없음",
    "code.409": "이미 쓰인 작업 ID",
    "code.413": "너무 큼",
    "code.422": "격리",
    "code.502": "발송 실패",
    "code.503": "처리 불가",
    "code.other": "",
    "state.waiting": "응답을 기다리는 중",
    "state.queued": "큐에서 대기 중",
    "state.scanning": "검사 중",
    "state.retrying": "재시도 대기 중",
    "state.sent": "발송 완료",
    "state.quarantined": "격리",
    "state.dead": "데드 레터 큐로 이동",
    "state.dropped": "발송 포기",
    "state.not_sent": "발송 실패",
    "state.refused": "거부됨",
    "state.not_taken": "접수 안 됨",
    "state.unknown": "알 수 없음",
    "note.sync": "응답이 곧 결과입니다. 더 지켜볼 것은 없습니다.",
    "note.following": "작업을 지켜보는 중입니다. 상태가 바뀔 때마다 앱 서버가 여기로 알려 줍니다.",
    "note.lost": "{time}에 앱 서버와 연결이 끊겼습니다. 다시 연결하는 중…",
    "note.back": "{time}에 다시 연결되었습니다.",
    "note.stale":
      "{time}에 앱 서버가 상태 로그를 놓쳤습니다. 보이는 상태는 앱 서버가 마지막으로 " +
      "들은 것이며, 작업은 그 뒤에 더 진행되었을 수 있습니다.",
    "note.live": "{time}부터 앱 서버가 상태 로그를 다시 듣습니다.",
    "note.final": "최종 상태: {state}. 앱 서버가 알림을 마쳤습니다.",
    "note.unknown":
      "앱 서버가 이 작업을 모릅니다. 앞으로도 알 수 없습니다. 메일이 어떻게 됐는지 이제 누구도 알려 줄 수 없습니다.",
    "note.unknown.thread":
      "앱 서버가 이 작업을 모릅니다. 내부 비동기는 작업 상태를 앱 서버 메모리에만 두는데, 그 메모리가 " +
      "앱 서버와 함께 사라졌습니다. 메일이 발송됐는지 유실됐는지 아무도 알려 줄 수 없습니다.",
    "note.no_status": "이 앱 서버는 지켜볼 작업 상태를 남기지 않습니다.",
    "note.busy": "앱 서버가 지금은 상태를 보내 줄 수 없습니다. {s}초 뒤 다시 물어봅니다.",
    "note.gave_up": "{s}초 동안 물어봤지만 소식이 없습니다. 다시 물어보려면 페이지를 새로 고치세요.",
    "note.503":
      "앱 서버가 지금은 작업을 받지 못했습니다. {s}초 뒤 다시 시도하세요. 버튼은 같은 작업 ID로 보내므로 " +
      "앱 서버가 새 가입 요청이 아니라 재시도라는 것을 알 수 있습니다.",
    "note.503.unknown": "작업이 이미 접수됐을 수도 있습니다. 아직은 아무도 모릅니다.",
    "note.refused": "앱 서버가 요청을 거부했습니다. 큐에 넣은 것도, 보낸 메일도 없습니다.",
    "note.network": "앱 서버의 응답이 없습니다({why}). 결과를 알 수 없습니다. 같은 작업 ID로 다시 시도하세요.",
    "history.lost": "연결 끊김",
    "history.back": "다시 연결됨",
    "history.stale": "앱 서버가 상태 로그를 놓침",
    "history.live": "앱 서버가 상태 로그를 다시 들음",
    "history.unknown": "앱 서버가 이 작업을 모름",
    footer: "페이지 없이 같은 상태를 보려면:",
  },
};

const FINAL = new Set(["sent", "quarantined", "dead", "dropped"]);
const ASK_AGAIN_S = 2; // a status stream refused (503): asked again after this
const ASK_FOR_S = 120; // ... for at most this long

const root = document.documentElement;
const MODE = root.dataset.mode || "";
const LANG = pickLanguage();
const $ = (id) => document.getElementById(id);

function pickLanguage() {
  const asked = new URLSearchParams(location.search).get("lang");
  if (asked === "en" || asked === "ko") return asked;
  return (navigator.language || "en").toLowerCase().startsWith("ko") ? "ko" : "en";
}

function t(key, fields = {}) {
  const text = TEXT[LANG][key] ?? TEXT.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (all, name) => (name in fields ? String(fields[name]) : all));
}

function clock(seconds) {
  const d = new Date(seconds * 1000);
  const two = (n) => String(n).padStart(2, "0");
  const ms = String(d.getMilliseconds()).padStart(3, "0");
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${ms}`;
}

// crypto.randomUUID() exists only on https or localhost; getRandomValues everywhere, so a
// class that opens the page by the teacher's IP address gets ids too. The app's rule:
// 1-80 characters of letters, digits and ._:- (mqlab/job/signup.py, is_job_id).
function newJobId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "web-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function fileBase64(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

// -- the labels and the mode

function showLabels() {
  root.lang = LANG;
  for (const el of document.querySelectorAll("[data-text]")) el.textContent = t(el.dataset.text);
  document.title = t("title");
  $("curl").textContent = curl("ID");
  document.querySelector("footer").hidden = MODE === "sync"; // no states to follow there
  for (const a of document.querySelectorAll(".langs a")) {
    if (a.lang === LANG) a.setAttribute("aria-current", "true");
  }
  const known = ["sync", "thread", "broker"].includes(MODE);
  $("mode").dataset.mode = known ? MODE : "other";
  $("mode-name").textContent = known ? t("mode." + MODE) : MODE;
  $("mode-expect").textContent = t(known ? "expect." + MODE : "expect.other");
}

// -- one job: its answer, then its states

class Job {
  constructor(body, who) {
    this.id = newJobId();
    this.body = JSON.stringify(body);
    this.who = who;
    this.seen = new Set(); // "state@time": a reconnected stream sends the history again
    this.events = [];
    this.source = null;
    this.lost = false;
    this.staleSince = null; // when the app server said it lost its status log, or null
    this.askedSince = 0;
    this.done = false;
  }

  stop() {
    this.done = true;
    if (this.source) this.source.close();
    this.source = null;
  }

  setState(state) {
    const el = $("state");
    el.dataset.state = state;
    el.textContent = t("state." + state);
  }

  note(text) {
    $("note").textContent = text;
  }

  said(text) {
    $("said").hidden = !text;
    $("said-text").textContent = text || "";
  }

  stale(since) {
    if (this.staleSince === since) return; // told again by a new stream or answer
    this.staleSince = since;
    this.note(t("note.stale", { time: clock(since) }));
    this.addRow(since, t("history.stale"), "", "local problem");
  }

  // a row of the history: a state the server told, or something this page saw
  addRow(at, label, detail, kind) {
    const li = document.createElement("li");
    li.className = kind;
    const time = document.createElement("time");
    time.textContent = clock(at);
    const what = document.createElement("strong");
    what.textContent = label;
    li.append(time, " ", what);
    if (detail) {
      const more = document.createElement("span");
      more.className = "detail";
      more.textContent = detail;
      li.append(" ", more);
    }
    const list = $("history");
    $("timeline").hidden = false;
    if (!kind.startsWith("event")) {
      list.append(li); // what this page saw, by its own clock: in the order it saw it
      return;
    }
    // The server's events in time order (the app and a worker tell them apart, and they
    // may arrive out of order); a later one goes after what this page saw meanwhile.
    li.dataset.at = String(at);
    const events = Array.from(list.children).filter((other) => other.dataset.at);
    const later = events.find((other) => Number(other.dataset.at) > at);
    list.insertBefore(li, later || null);
  }

  onEvent(event) {
    const key = `${event.state}@${event.at}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.events.push(event);
    this.addRow(event.at, t("state." + event.state), event.detail, "event state-" + event.state);
    // the first final state stays the state (a second run of a sent job changes nothing)
    const final = this.events.find((e) => FINAL.has(e.state));
    const latest = this.events.reduce((a, b) => (b.at >= a.at ? b : a));
    this.setState((final || latest).state);
  }

  async submit() {
    this.done = false;
    $("retry").hidden = true;
    this.said("");
    this.setState("waiting");
    const started = performance.now();
    let response;
    let answer = {};
    try {
      response = await fetch("/signup", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Job-Id": this.id },
        body: this.body,
      });
      answer = await response.json().catch(() => ({}));
    } catch (e) {
      this.setState("unknown");
      this.note(t("note.network", { why: e.message || String(e) }));
      $("retry").hidden = false;
      return;
    }
    const ms = Math.round(performance.now() - started);
    const code = response.status;
    const meaning = TEXT.en["code." + code] === undefined ? "" : t("code." + code);
    $("answer").textContent = t("answer", { code, meaning, ms }).replace("  ", " ");
    $("answer").dataset.code = String(code);
    this.said(typeof answer.error === "string" ? answer.error : "");
    if (code === 503) {
      const wait = Number(response.headers.get("Retry-After")) || 1;
      const unsure = answer.outcome === "unknown" ? " " + t("note.503.unknown") : "";
      this.setState(answer.outcome === "unknown" ? "unknown" : "not_taken");
      this.note(t("note.503", { s: wait }) + unsure);
      $("retry").hidden = false;
    } else if (code === 201 || code === 422 || code === 502) {
      this.setState(code === 201 ? "sent" : code === 422 ? "quarantined" : "not_sent");
      this.note(t("note.sync"));
    } else if (code === 202) {
      this.note(t("note.following"));
      this.follow();
    } else {
      this.setState("refused");
      this.note(t("note.refused"));
    }
  }

  // -- the pushed states: EventSource reconnects by itself after a lost connection (the
  // server asks for 3 s); a refusal (404, 503) closes it, and the page asks GET why.

  follow() {
    if (this.done) return;
    const source = new EventSource(`/signup/${encodeURIComponent(this.id)}/events`);
    this.source = source;
    source.onopen = () => {
      this.askedSince = 0;
      if (this.lost) {
        this.lost = false;
        const now = Date.now() / 1000;
        this.note(t("note.back", { time: clock(now) }));
        this.addRow(now, t("history.back"), "", "local");
      }
    };
    source.onmessage = (message) => {
      try {
        this.onEvent(JSON.parse(message.data));
      } catch {
        // not an event of ours: ignored
      }
    };
    // the app server lost its status log (its broker gone, or its reading ended), or hears it again
    source.addEventListener("stale", (message) => {
      let since = Date.now() / 1000;
      try {
        since = JSON.parse(message.data).log_lost_at || since;
      } catch {
        // no time given: now
      }
      this.stale(since);
    });
    source.addEventListener("live", () => {
      if (this.staleSince === null) return;
      this.staleSince = null;
      const now = Date.now() / 1000;
      this.note(t("note.live", { time: clock(now) }));
      this.addRow(now, t("history.live"), "", "local");
    });
    source.addEventListener("end", (message) => {
      this.stop();
      let state = "";
      try {
        state = JSON.parse(message.data);
      } catch {
        state = $("state").dataset.state;
      }
      this.note(t("note.final", { state: t("state." + state) }));
    });
    source.onerror = () => {
      if (this.done || source !== this.source) return;
      if (source.readyState === EventSource.CONNECTING) {
        if (!this.lost) {
          this.lost = true;
          const now = Date.now() / 1000;
          this.note(t("note.lost", { time: clock(now) }));
          this.addRow(now, t("history.lost"), "", "local problem");
        }
        return; // the browser tries again by itself
      }
      this.source = null;
      this.ask(); // refused: not a stream (404, 503...)
    };
  }

  async ask() {
    if (this.done) return;
    let code = 0;
    let body = {};
    try {
      const response = await fetch(`/signup/${encodeURIComponent(this.id)}`);
      code = response.status;
      body = await response.json().catch(() => ({}));
    } catch {
      code = 0; // no answer at all: asked again below
    }
    if (code === 200) {
      for (const event of body.history || []) this.onEvent(event);
      if (body.live === false && !body.final) this.stale(body.log_lost_at || Date.now() / 1000);
      if (body.final) {
        this.stop();
        this.note(t("note.final", { state: t("state." + body.state) }));
        return;
      }
    } else if (code === 404) {
      this.stop();
      const now = Date.now() / 1000;
      if (MODE === "thread" || MODE === "broker") {
        this.setState("unknown");
        this.note(t(MODE === "thread" ? "note.unknown.thread" : "note.unknown"));
        this.addRow(now, t("history.unknown"), "", "local problem");
      } else {
        this.note(t("note.no_status"));
      }
      this.said(typeof body.error === "string" ? body.error : "");
      return;
    }
    if (!this.askedSince) this.askedSince = Date.now();
    if (Date.now() - this.askedSince > ASK_FOR_S * 1000) {
      this.stop();
      this.note(t("note.gave_up", { s: ASK_FOR_S }));
      return;
    }
    if (code !== 200) this.note(t("note.busy", { s: ASK_AGAIN_S }));
    setTimeout(() => this.follow(), ASK_AGAIN_S * 1000);
  }
}

// -- the form

function curl(job) {
  return `curl -N ${location.origin}/signup/${job}/events`;
}

let current = null;

async function send(withEicar) {
  const form = $("signup");
  const problem = $("form-problem");
  problem.hidden = true;
  const email = form.email.value.trim();
  const name = form.name.value;
  if (!email || !name.trim()) {
    problem.textContent = t("form.required");
    problem.hidden = false;
    return;
  }
  const body = { email, name };
  let what = "";
  const file = form.attachment.files[0];
  if (withEicar) {
    body.attachment = root.dataset.eicar;
    what = t("job.eicar");
  } else if (file) {
    const max = Number(root.dataset.maxAttachment) || Infinity;
    if (file.size > max) {
      problem.textContent = t("form.too_big", { kib: Math.floor(max / 1024) });
      problem.hidden = false;
      return;
    }
    body.attachment = await fileBase64(file);
    what = t("job.file", { name: file.name });
  }
  if (current) current.stop();
  const job = new Job(body, `${name} <${email}> ${what}`.trim());
  current = job;
  $("job").hidden = false;
  $("history").replaceChildren();
  $("timeline").hidden = true;
  $("curl").textContent = curl(job.id);
  $("answer").textContent = "";
  $("job-who").textContent = job.who;
  $("job-id").textContent = job.id;
  $("note").textContent = "";
  for (const button of form.querySelectorAll("button")) button.disabled = true;
  try {
    await job.submit();
  } finally {
    for (const button of form.querySelectorAll("button")) button.disabled = false;
  }
}

function start() {
  showLabels();
  $("signup").addEventListener("submit", (e) => {
    e.preventDefault();
    send(false);
  });
  $("eicar").addEventListener("click", () => send(true));
  $("retry").addEventListener("click", () => {
    if (current) current.submit(); // the same body, the same X-Job-Id
  });
}

start();
