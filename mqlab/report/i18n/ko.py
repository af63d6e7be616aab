"""Every label in Korean, in the course's own vocabulary (see `glossary.py`).

Each key has its English twin in `en.py`; the `str.format` fields are the same in both.
"""

KO: dict[str, str] = {
    "mode.sync": "동기 처리",
    "mode.thread": "내부 비동기 (스레드)",
    "mode.broker": "메시지 브로커",
    "mode.sync.short": "동기",
    "mode.thread.short": "스레드",
    "mode.broker.short": "브로커",
    "fault.app-kill": "앱 서버 강제 종료",
    "fault.worker-kill": "워커 강제 종료",
    "fault.broker-restart": "브로커 재시작",
    "safety.default": "기본 설정",
    "safety.no-confirm": "발행 확인 없음",
    "safety.transient": "비영속 큐",
    "safety.auto-ack": "자동 ACK",
    "safety.idempotent": "멱등 처리 워커",
    "safety.none": "Redis: 영속화 없음",
    "safety.everysec": "Redis: AOF, 1초마다 fsync",
    "safety.always": "Redis: AOF, 쓰기마다 fsync",
    "safety.memory": "NATS: 메모리 저장",
    "safety.file": "NATS: 파일 저장",
    "target.app": "앱 서버",
    "target.worker": "워커",
    "target.broker": "브로커",
    "event.kill": "{target} 강제 종료",
    "event.restart": "{target} 재시작",
    "event.kill_restart": "{target} 강제 종료 후 재시작",
    "scan_kind.sleep": "대기형",
    "scan_kind.cpu": "CPU 연산",
    "col.mode": "방식",
    "col.requests": "요청",
    "col.accepted": "접수",
    "col.failed": "실패",
    "col.sent_anyway": "실패 응답 후 발송됨",
    "col.sent_anyway.short": "실패 응답 후 발송됨",
    "col.delivered": "발송 완료",
    "col.lost": "유실",
    "col.duplicates": "중복",
    "col.quarantined": "격리",
    "col.dead_lettered": "데드 레터 큐",
    "col.retried": "재시도 후 발송",
    "col.throughput": "처리량 (메일/초)",
    "col.response_p50": "응답 p50 (ms)",
    "col.response_p95": "응답 p95 (ms)",
    "col.response_p99": "응답 p99 (ms)",
    "col.response_max": "응답 최대 (ms)",
    "col.e2e_p50": "종단 간 p50 (ms)",
    "col.e2e_p95": "종단 간 p95 (ms)",
    "col.e2e_p99": "종단 간 p99 (ms)",
    "col.fault": "장애",
    "col.trial": "시행",
    "col.safety": "안전 설정",
    "col.skipped": "건너뜀",
    "col.note": "비고",
    "saved": "저장한 파일",
    "meaning.sync": (
        "{mode}: 모든 사용자가 검사와 메일 발송이 끝날 때까지 기다렸습니다(중앙값 {p50} ms). "
        "발송자 {n}개가 초당 {tput}통을 보냈습니다."
    ),
    "meaning.thread": (
        "{mode}: {p50} ms 만에 응답했고, 메일은 앱 서버 메모리 안의 큐에서 나갔습니다"
        "(중앙값 {e2e} ms 뒤). 앱 서버가 강제 종료되면 이 큐는 사라집니다."
    ),
    "meaning.broker": (
        "{mode}: {broker}가 작업을 받은 뒤 {p50} ms 만에 응답했고, 워커 프로세스 {n}개가 "
        "초당 {tput}통을 보냈습니다. 앱 서버·워커·브로커가 강제 종료되어도 큐는 남습니다."
    ),
    "meaning.lost": "접수된 작업 {n}건이 유실되었습니다.",
    "meaning.lost.one": "접수된 작업 {n}건이 유실되었습니다.",
    "meaning.late": (
        "이 시간에는 부하 생성기가 늦게 보낸 만큼의 시간도 들어 있습니다(전송 시각 밀림)."
    ),
    "meaning.failed": "사용자 {n}명은 실패 응답을 받았습니다.",
    "meaning.failed.one": "사용자 {n}명은 실패 응답을 받았습니다.",
    "meaning.dead_lettered": "작업 {n}건은 발송되지 않고 데드 레터 큐로 옮겨졌습니다.",
    "meaning.dead_lettered.one": "작업 {n}건은 발송되지 않고 데드 레터 큐로 옮겨졌습니다.",
    "meaning.retried": (
        "메일 {n}통은 처음에 거부되어 기다렸다가 다시 보냈고, 처리량에는 그 대기 시간이 "
        "들어 있습니다."
    ),
    "meaning.retried.one": (
        "메일 {n}통은 처음에 거부되어 기다렸다가 다시 보냈고, 처리량에는 그 대기 시간이 "
        "들어 있습니다."
    ),
    "meaning.retried.thread": (
        "메일 {n}통은 처음에 거부되어 앱 서버 메모리 안에서 잠시 기다렸다가 다시 보냈고, "
        "처리량에는 그 대기 시간이 들어 있습니다."
    ),
    "meaning.retried.thread.one": (
        "메일 {n}통은 처음에 거부되어 앱 서버 메모리 안에서 잠시 기다렸다가 다시 보냈고, "
        "처리량에는 그 대기 시간이 들어 있습니다."
    ),
    "meaning.retried.broker": (
        "메일 {n}통은 처음에 거부되어 재시도 큐에서 기다렸다가({ms} ms부터 매번 두 배로) "
        "다시 발송되었고, 처리량에는 그 대기 시간이 들어 있습니다."
    ),
    "meaning.retried.broker.one": (
        "메일 {n}통은 처음에 거부되어 재시도 큐에서 기다렸다가({ms} ms부터 매번 두 배로) "
        "다시 발송되었고, 처리량에는 그 대기 시간이 들어 있습니다."
    ),
    "crash.meaning.sum": "{n}회 시행",
    "crash.meaning.none": "접수된 작업이 없습니다.",
    "crash.meaning.all": "접수된 작업 {n}건이 모두 발송 완료되었습니다.",
    "crash.meaning.all.one": "접수된 작업 {n}건이 발송 완료되었습니다.",
    "crash.meaning.lost": "접수된 작업 {of}건 중 {n}건이 유실되었습니다.",
    "crash.meaning.lost.one": "접수된 작업 {of}건 중 {n}건이 유실되었습니다.",
    "crash.meaning.some": "접수된 작업 {of}건 중 {n}건이 발송 완료되었고, 유실은 없습니다.",
    "crash.meaning.duplicates": "중복 메일이 {n}통 발송되었습니다.",
    "crash.meaning.duplicates.one": "중복 메일이 {n}통 발송되었습니다.",
    "crash.meaning.failed": "사용자 {n}명은 실패 응답을 받았습니다.",
    "crash.meaning.failed.one": "사용자 {n}명은 실패 응답을 받았습니다.",
    "crash.meaning.sent_anyway": (
        "사용자 {n}명은 실패 응답을 받았고, 그중 {m}명에게는 메일도 발송되었습니다."
    ),
    "crash.meaning.sent_anyway.one": "사용자 {n}명은 실패 응답을 받았는데도 메일을 받았습니다.",
    "crash.meaning.early": (
        "이 조건만의 처리량 초당 {own}통은 마지막 메일이 도착한 {own_s}초에서 시계를 멈춘 "
        "값이고, {slowest}의 {s}초(초당 {slow_rate}통)로 계산하면 처리량은 초당 {rate}통입니다."
    ),
    "sweep.meaning.none": "발송된 메일이 없습니다.",
    "sweep.meaning.grew": (
        "워커를 {w0}개에서 {w1}개로 늘리자 처리량이 초당 {t0}통에서 {t1}통으로 {x}배가 "
        "되었습니다(워커는 {k}배)."
    ),
    "sweep.meaning.flat": (
        "워커를 {w0}개에서 {w1}개로 늘려도 처리량은 초당 {t0}통에서 {t1}통으로 거의 늘지 "
        "않았습니다(워커 {k}배에 {x}배)."
    ),
    "sweep.meaning.one": "워커 {n}개가 초당 {t}통을 보냈습니다.",
    "sweep.meaning.one.one": "워커 {n}개가 초당 {t}통을 보냈습니다.",
    "sweep.meaning.ideal": "워커 {w}개일 때 이론치(초당 {ideal}통)의 {pct}%입니다.",
    "note.sent_anyway": (
        "실패 응답 후 발송됨: 사용자는 오류 응답을 받았거나 응답을 받지 못했는데도 환영 메일은 "
        "발송된 경우로, 다시 시도한 사용자는 메일을 두 통 받게 됩니다."
    ),
    "late": "전송 시각 밀림",
    "note.late": (
        "전송 시각 밀림: 부하 생성기가 이 요청들을 예정보다 늦게 보내서 시간을 표시하지 않습니다."
    ),
    "chart.late_note": (
        "전송 시각 밀림: 부하 생성기가 이 요청들을 늦게 보내서, "
        "막대에 그만큼의 시간이 더해져 있습니다"
    ),
    "warn.drain_timeout": "{s}초가 지나도 메일이 다 발송되지 않아 나머지는 유실로 셉니다",
    "warn.overloaded": (
        "부하 생성기의 전송 시각이 예정보다 밀렸습니다 (p99 {ms} ms): "
        "이 컴퓨터는 이 속도를 감당하기에 너무 바쁩니다"
    ),
    "warn.behind": "부하 생성기의 전송 시각이 예정보다 최대 {ms} ms 밀렸습니다",
    "crash.fault.app-kill": "앱 서버 강제 종료: 부하 도중 SIGKILL로 끄고 재시작했습니다.",
    "crash.fault.worker-kill": (
        "워커 강제 종료: 메일이 접수된 뒤 ACK 전에 SIGKILL로 끄고 새 워커를 시작했습니다."
    ),
    "crash.fault.broker-restart": "브로커 재시작: 부하 도중 SIGKILL로 끄고 재시작했습니다.",
    "crash.never_fired": "장애가 일어나지 않았습니다",
    "crash.never_killed": "워커가 강제 종료되지 않았습니다 (워커에 도착한 작업이 너무 적음)",
    "crash.recovery_failed": "복구 실패: {detail}",
    "crash.no_replacement": "새 워커가 시작되지 않았습니다: {detail}",
    "crash.broker_gone": "브로커가 돌아오지 않았습니다: {detail}",
    "crash.could_not_run": "시행할 수 없었습니다: {detail}",
    "crash.no_broker": "브로커 없음",
    "crash.no_queue": "동기 처리에는 잃어버릴 큐가 없습니다: 사용자가 오류를 봤습니다",
    "progress.start": "시작하는 중",
    "progress.load": "전송 중",
    "progress.drain": "발송 중",
    "progress.unit.load": "가입 요청",
    "progress.unit.drain": "메일",
    "progress.trial": "{n}회차",
    "floor.title": "이 컴퓨터의 최소 소요 시간 (각 구간에 드는 최소 시간)",
    "floor.part": "구간",
    "floor.calls": "호출 수",
    "floor.max": "최대 (ms)",
    "floor.http": "HTTP 왕복 (앱 서버, 빈 시나리오)",
    "floor.publish": "영속 메시지 발행 + 발행 확인",
    "floor.smtp": "테스트 메일 서버로 SMTP 전송",
    "floor.paced": "{ms:g} ms마다 한 번 호출",
    "floor.unpaced": "쉬지 않고 연속 호출",
    "floor.schedule": (
        "부하 생성기 초당 {rate:g}건: 전송 시각 밀림 p50 {p50} ms, p99 {p99} ms, "
        "실제 초당 {held}건, 실패 {failed}건: {verdict}"
    ),
    "floor.holds": "일정을 지킴",
    "floor.late": "일정을 지키지 못함",
    "floor.line": "최소 소요 시간 ({pacing}): HTTP {http} · 발행 {publish} · SMTP {smtp}",
    "floor.no_broker": "발행: 측정하지 않음 (브로커를 지정하지 않음)",
    "floor.no_answer": "발행: 측정하지 않음 ({url}에서 RabbitMQ가 응답하지 않음)",
    "floor.failed": "발행: 측정하지 않음 ({detail})",
    "sweep.workers": "워커 수",
    "sweep.ideal": "이론치 (메일/초)",
    "sweep.ratio": "측정 ÷ 이론치",
    "sub.requests": "요청 {n}건",
    "sub.requests.one": "요청 {n}건",
    "sub.rate": "초당 {rate}건",
    "sub.all_at_once": "한꺼번에 전송",
    "sub.scan": "바이러스 검사 {ms} ms",
    "sub.scan_jitter": "바이러스 검사 {ms} ± {jitter} ms",
    "sub.workers": "워커 {n}개",
    "sub.workers.one": "워커 {n}개",
    "sub.threads": "서버 스레드 {n}개",
    "sub.threads.one": "서버 스레드 {n}개",
    "sub.trials": "조건마다 {n}회 시행",
    "sub.trials.one": "조건마다 {n}회 시행",
    "chart.na": "없음",
    "chart.ideal": "이론치 = W ÷ 검사 시간 (보낸 속도 이하)",
    "chart.ideal_value": "이론치 {value}",
    "chart.latency.title": "응답 시간: 사용자가 기다리는가?",
    "chart.latency.ylabel": "응답 시간 (ms)",
    "chart.latency.waits": "사용자 대기",
    "chart.latency.at_once": "즉시 응답",
    "chart.throughput.title": "메일 도착까지 걸린 시간과 처리량",
    "chart.throughput.e2e": "가입 → 메일 도착 (ms)",
    "chart.throughput.rate": "처리량 (메일/초)",
    "chart.timeline.title": "타임라인: 작업이 기다리는 곳",
    "chart.timeline.title.spike": "타임라인: 한꺼번에 몰린 가입 요청 {n}건을 흡수하는 과정",
    "chart.timeline.title.steady": "타임라인: 초당 {rate}건씩 가입 요청 {n}건, 어디서 기다리는가",
    "chart.timeline.accepted": "구간별 접수",
    "chart.timeline.delivered": "구간별 발송 완료",
    "chart.timeline.backlog": "적체 (접수됐지만 아직 미발송)",
    "chart.timeline.queue": "측정된 큐 길이",
    "chart.timeline.peak": "최대 적체 {value}건",
    "chart.timeline.peak_waiting": "기다리는 사용자 최대 {value}명",
    "chart.timeline.waiting": "응답을 기다리는 사용자 (동기 처리)",
    "chart.timeline.xlabel": "시작 후 경과 시간 (초)",
    "chart.timeline.ylabel": "작업 수",
    "chart.timeline.trial": "{n}회차",
    "chart.crash_timeline.title": "장애 중 타임라인: {fault}",
    "chart.crash.title": "장애 실험: {fault}",
    "chart.crash.ylabel": "메일 수",
    "chart.crash.ylabel_sum": "메일 수 ({n}회 시행 합계)",
    "chart.sweep.title": "수평 확장: 워커 수에 따른 처리량",
    "chart.sweep.xlabel": "워커 수 (W)",
    "lesson.title": "실습 {n}: {claim}",
    "lesson.list.title": "실습: 강의 노트의 주장을 직접 측정하기",
    "lesson.list.hint": (
        "하나씩 실행: mqlab lesson N (강사용 --no-predict). 전체를 발표 자료로: mqlab slides"
    ),
    "lesson.col.chart": "차트",
    "lesson.chart.own": "전용 슬라이드",
    "lesson.question": "질문",
    "lesson.predict": "예측",
    "lesson.bad.number": "{low}부터 {high} 사이의 숫자를 입력하세요.",
    "lesson.bad.choice": "{letters} 중 하나를 입력하세요.",
    "lesson.you": "예측",
    "lesson.measured": "측정값",
    "lesson.not_asked": "묻지 않음",
    "lesson.right": "맞음",
    "lesson.wrong": "이번 측정과 다름",
    "lesson.takeaway": "정리",
    "lesson.verdict.holds": "주장대로입니다",
    "lesson.verdict.partly": "주장의 일부만 확인되었습니다",
    "lesson.verdict.contradicted": "측정 결과가 주장과 다릅니다",
    "lesson.verdict.unclear": "이번 측정으로는 알 수 없습니다",
    "lesson.busy": (
        "측정하는 동안 다른 프로그램이 CPU 코어 {cores}개만큼을 썼습니다. 숫자가 평소와 "
        "다를 수 있습니다."
    ),
    "lesson.took": "측정 시간 {s}초",
    "lesson.unclear": "이번 측정으로는 질문에 답할 수 없습니다: {why}.",
    "lesson.why.missing": "필요한 숫자가 결과에 없습니다",
    "lesson.why.failed": "요청 {failed}건이 실패해서 시간을 비교할 수 없습니다",
    "lesson.why.late": "부하 생성기가 늦게 보내서 응답 시간에 그만큼이 더해졌습니다",
    "lesson.why.skipped": "시행 하나를 할 수 없었습니다 ({note})",
    "lesson.why.never_fired": "장애가 일어나지 않았습니다",
    "lesson.why.empty": (
        "앱 서버가 강제 종료될 때 스레드 풀에 남은 작업이 없어서 잃을 것이 없었습니다. "
        "다시 실행해 보세요"
    ),
    "lesson.why.one_core": (
        "이 컴퓨터에서는 CPU 코어를 하나만 쓸 수 있어서 어떤 방식도 검사 두 개를 동시에 "
        "계산할 수 없습니다"
    ),
    "lesson.why.not_ours": "RabbitMQ 자체의 메모리와 시작 시간은 재지 못했습니다 (전용 노드 없음)",
    "lesson.unit.ms": "ms",
    "lesson.unit.jobs": "건",
    "lesson.unit.times": "배",
    "lesson.unit.MB": "MB",
    "lesson.choice.both": "둘 다",
    "lesson.choice.broker": "메시지 브로커만",
    "lesson.choice.thread": "내부 비동기 (스레드)만",
    "lesson.choice.neither": "둘 다 아님",
    "lesson.immediate.claim": "즉시 응답",
    "lesson.immediate.source": "§1 ② 백엔드, 즉시 HTTP 응답 · §4 즉시 응답",
    "lesson.immediate.question": (
        "환영 메일마다 {scan} ms 걸리는 바이러스 검사와 SMTP 발송이 필요합니다. 사용자 "
        "{requests}명이 초당 {rate}명씩 가입합니다. 사용자는 응답을 얼마나 기다릴까요?"
    ),
    "lesson.immediate.ask": "메시지 브로커 방식에서 응답 시간의 중앙값은 몇 ms일까요?",
    "lesson.immediate.value": "메시지 브로커의 응답 시간 중앙값",
    "lesson.immediate.big": "{broker_p50} ms",
    "lesson.immediate.big_caption": "메시지 브로커의 응답 시간 중앙값 (동기 처리: {sync_p50} ms)",
    "lesson.immediate.chart": "방식별 응답 시간",
    "lesson.immediate.holds": (
        "메시지 브로커는 {broker_p50} ms, 내부 비동기는 {thread_p50} ms 만에 응답했고, "
        "동기 처리에서는 모든 사용자가 검사와 메일 발송이 끝날 때까지 {sync_p50} ms를 "
        "기다렸습니다({times}배)."
    ),
    "lesson.immediate.contradicted": (
        "이번에는 아닙니다: 메시지 브로커는 {broker_p50} ms, 동기 처리는 {sync_p50} ms로 "
        "뚜렷한 차이가 없었습니다(표 참고)."
    ),
    "lesson.buffer.claim": "부하 완충",
    "lesson.buffer.source": "§0 주요 효과 ② 부하 완충: 트래픽 스파이크 흡수",
    "lesson.buffer.question": (
        "가입 요청 {requests}건이 한꺼번에 들어오고, 워커 {workers}개가 각각 {scan} ms씩 "
        "검사합니다. 몰려든 요청은 어떻게 될까요?"
    ),
    "lesson.buffer.ask": "가장 많을 때 브로커의 큐에는 작업이 몇 건 쌓일까요?",
    "lesson.buffer.value": "브로커 큐에 쌓인 작업 수의 최댓값",
    "lesson.buffer.big": "{delivered} / {requests}",
    "lesson.buffer.big_caption": "몰린 요청 뒤 발송 완료 (큐에는 최대 {peak}건이 쌓임)",
    "lesson.buffer.chart": "타임라인: 몰린 요청이 기다리는 곳",
    "lesson.buffer.holds": (
        "가입 요청 {requests}건이 한꺼번에 와도 메시지 브로커는 {broker_p99} ms(p99) 안에 "
        "응답하고, 큐에 작업을 최대 {peak}건까지 쌓아 두었다가 {drain_s}초 만에 {delivered}건을 "
        "모두 발송했습니다. 동기 처리에서는 늦은 사용자가 {sync_p99} ms(p99)를 기다렸습니다."
    ),
    "lesson.buffer.partly": (
        "메시지 브로커는 작업을 최대 {peak}건까지 쌓아 두었다가 {delivered}건을 모두 "
        "발송했지만, 응답이 동기 처리보다 뚜렷하게 빠르지는 않았습니다({broker_p99} ms 대 "
        "{sync_p99} ms, p99)."
    ),
    "lesson.buffer.contradicted": (
        "이번에는 아닙니다: 메시지 브로커는 접수된 작업 {accepted}건 중 {delivered}건을 "
        "발송했고, {loss}건이 유실되었으며 사용자 {failed}명은 실패 응답을 받았습니다."
    ),
    "lesson.crash.claim": "장애 시 메시지 보존",
    "lesson.crash.source": (
        "§4 장애 시 메시지 보존 · §2 이메일 발송 모듈이 잠시 다운돼도 메시지는 큐에 안전하게 남음"
    ),
    "lesson.crash.question": (
        "사용자 {requests}명이 초당 {rate}명씩 가입하는 도중, 절반쯤에서 앱 서버를 "
        "SIGKILL로 강제 종료하고 다시 시작합니다. 이미 접수된 작업은 어떻게 될까요?"
    ),
    "lesson.crash.ask": "내부 비동기 (스레드) 방식에서 접수된 작업 중 몇 건이 유실될까요?",
    "lesson.crash.value": "내부 비동기에서 유실된 작업",
    "lesson.crash.big": "{thread_loss} : {broker_loss}",
    "lesson.crash.big_caption": "유실된 접수 작업: 내부 비동기 대 메시지 브로커",
    "lesson.crash.chart": "장애 실험: 접수, 발송 완료, 유실",
    "lesson.crash.holds": (
        "부하 도중 앱 서버를 강제 종료하자 내부 비동기는 접수한 작업 {thread_accepted}건 중 "
        '{thread_loss}건이 유실되었고(사용자는 이미 "접수됨" 응답을 받았습니다), 메시지 '
        "브로커는 {broker_accepted}건 중 {broker_loss}건이 유실되었습니다."
    ),
    "lesson.crash.contradicted": (
        "앱 서버를 강제 종료했을 때 메시지 브로커에서 접수된 작업 {broker_accepted}건 중 "
        "{broker_loss}건이 유실되었습니다. 있어서는 안 되는 일이니 실행 경고를 확인하세요."
    ),
    "lesson.scale.claim": "수평 확장",
    "lesson.scale.source": "§2·§4 같은 큐에 컨슈머를 늘리는 수평 확장",
    "lesson.scale.question": (
        "워커마다 검사에 {scan} ms가 걸리고, 큐에는 작업이 가득합니다. 워커를 늘리면 어떻게 될까요?"
    ),
    "lesson.scale.ask": "워커를 {w1}개에서 {wk}개로 늘리면 초당 메일 수는 몇 배가 될까요?",
    "lesson.scale.value": "처리량 배수 (워커 {wk}개 ÷ {w1}개)",
    "lesson.scale.big": "{x}배",
    "lesson.scale.big_caption": "워커 {w1}개에서 {wk}개로 늘렸을 때의 처리량 ({k}배의 워커)",
    "lesson.scale.chart": "워커 수에 따른 처리량",
    "lesson.scale.holds": (
        "워커를 {w1}개에서 {wk}개로 늘리자 처리량이 초당 {t1}통에서 {tk}통으로 {x}배가 "
        "되었습니다(워커는 {k}배, 이론치의 {pct}%)."
    ),
    "lesson.scale.partly": (
        "워커를 {w1}개에서 {wk}개로 늘렸지만 처리량은 {x}배(초당 {t1}통에서 {tk}통, 이론치의 "
        "{pct}%)에 그쳤습니다. 수평 확장이 도움은 되었지만 워커 수만큼은 아니었습니다."
    ),
    "lesson.scale.contradicted": (
        "워커를 {w1}개에서 {wk}개로 늘려도 처리량이 거의 그대로였습니다(초당 {t1}통에서 "
        "{tk}통). 이번에는 다른 곳이 병목이었습니다."
    ),
    "lesson.retry.claim": "재시도 용이",
    "lesson.retry.source": "§1 ④ 부하 분산·재시도 용이 · §4 신뢰성",
    "lesson.retry.question": (
        "메일 서버가 시도의 {fail}%를 무작위로 거부합니다(451: 나중에 다시 시도). 내부 "
        "비동기는 메일마다 메모리 안에서 세 번 시도하고, 메시지 브로커는 재시도 큐를 거쳐 "
        "최대 {retries}번 다시 보냅니다."
    ),
    "lesson.retry.ask": "모든 메일을 발송하는 쪽은 어디일까요?",
    "lesson.retry.value": "모든 메일을 발송한 쪽",
    "lesson.retry.big": "{broker_delivered} / {broker_accepted}",
    "lesson.retry.big_caption": (
        "메시지 브로커의 발송 완료 (내부 비동기: {thread_delivered} / {thread_accepted})"
    ),
    "lesson.retry.chart": "발송 완료, 재시도 후 발송, 유실",
    "lesson.retry.holds": (
        "메일 서버가 시도의 {fail_pct}%를 거부했지만 메시지 브로커는 메일 {broker_delivered}통을 "
        "모두 발송했고({broker_retried}통은 재시도 큐에서 기다렸다가 발송), 내부 비동기는 "
        "메모리 안에서 세 번 시도한 뒤 {thread_accepted}건 중 {thread_loss}건을 포기했습니다."
    ),
    "lesson.retry.both": (
        "이번에는 둘 다 모든 메일을 발송했습니다. 메모리 안의 세 번 시도로 충분했습니다. "
        "메시지 브로커의 재시도는 스레드가 아니라 RabbitMQ 안에서 기다리므로 장애가 나도 "
        "남습니다(실습 3)."
    ),
    "lesson.retry.kept": (
        "메시지 브로커는 {broker_accepted}건 중 {broker_delivered}건을 발송했고, {retries}번 "
        "재시도한 {broker_dead}건은 데드 레터 큐에 보관했습니다. 발송은 못 했지만 유실은 "
        "아닙니다. 내부 비동기에서는 {thread_loss}건이 유실되었습니다."
    ),
    "lesson.retry.contradicted": (
        "이번에는 아닙니다: 메시지 브로커는 {broker_accepted}건 중 {broker_delivered}건을 "
        "발송했고({broker_loss}건 유실), 내부 비동기는 {thread_accepted}건 중 "
        "{thread_delivered}건을 발송했습니다."
    ),
    "lesson.gil.claim": "내부 비동기의 확장은 한 프로세스까지",
    "lesson.gil.source": "§4 확장성: 단일 인스턴스 내부 스레드 수에 의존",
    "lesson.gil.question": (
        "이번에는 검사가 파이썬 안에서 CPU를 쓰는 계산입니다(메일마다 {scan} ms). 발송자를 두 "
        "배로 늘립니다: 한 프로세스 안의 스레드 {w1}개를 {wk}개로, 또는 워커 프로세스 {w1}개를 "
        "{wk}개로."
    ),
    "lesson.gil.ask": "발송자를 두 배로 늘렸을 때 빨라지는 쪽은?",
    "lesson.gil.value": "빨라진 쪽",
    "lesson.gil.big": "{thread_x}배 : {broker_x}배",
    "lesson.gil.big_caption": "발송자를 두 배로 늘렸을 때의 처리량: 스레드 대 워커 프로세스",
    "lesson.gil.chart": "발송자 수에 따른 처리량 (CPU 연산 검사)",
    "lesson.gil.holds": (
        "검사가 CPU 연산이면 한 프로세스 안의 스레드는 {w1}개에서 {wk}개로 늘려도 초당 "
        "{thread_t1}통에서 {thread_tk}통({thread_x}배)에 그쳤습니다. 파이썬에서는 한 번에 한 "
        "스레드만 계산하기 때문입니다. 워커 프로세스는 초당 {broker_t1}통에서 {broker_tk}통"
        "({broker_x}배)으로 늘었습니다."
    ),
    "lesson.gil.partly": (
        "발송자를 두 배로 늘리자 스레드는 {thread_x}배, 워커 프로세스는 {broker_x}배였습니다. "
        "프로세스 쪽이 더 늘었지만 뚜렷하지는 않았습니다(컴퓨터가 바빴거나 검사가 너무 "
        "짧았습니다)."
    ),
    "lesson.gil.threads_scaled": (
        "이번에는 아닙니다: CPU 연산 검사인데도 스레드 {wk}개가 {w1}개의 {thread_x}배를 "
        "보냈고, 워커 프로세스는 {broker_x}배였습니다."
    ),
    "lesson.gil.broker_flat": (
        "이번에는 아닙니다: 워커 프로세스 {wk}개가 {w1}개의 {broker_x}배밖에 보내지 못했습니다"
        "(스레드 {thread_x}배). 다른 프로그램이 CPU 코어를 쓰고 있지 않았는지 확인하세요."
    ),
    "lesson.price.claim": "운영 복잡도",
    "lesson.price.source": "§4 운영 복잡도: 브로커 설치·모니터링 필요",
    "lesson.price.question": (
        "브로커를 쓰면 설치하고 운영하고 지켜봐야 할 시스템이 하나 늘어납니다. 이 컴퓨터에서 "
        "프로세스 수, 메모리, 시작 시간, 응답마다 드는 시간으로 따지면 얼마일까요?"
    ),
    "lesson.price.ask": (
        "브로커 방식 전체(RabbitMQ, 앱 서버, 워커 {workers}개)는 메모리를 몇 MB 쓸까요?"
    ),
    "lesson.price.value": "브로커 방식의 메모리 (MB)",
    "lesson.price.big": "{broker_mb} MB",
    "lesson.price.big_caption": (
        "메시지 브로커 방식의 프로세스 {broker_procs}개 (내부 비동기: {thread_mb} MB, "
        "프로세스 {thread_procs}개)"
    ),
    "lesson.price.chart": "부분별 메모리와 시작 시간",
    "lesson.price.holds": (
        "메시지 브로커 방식은 프로세스 {broker_procs}개가 {broker_mb} MB를 썼고 시작에 "
        "{broker_start_s}초가 걸렸습니다(RabbitMQ만 {node_start_s}초). 내부 비동기는 프로세스 "
        "{thread_procs}개, {thread_mb} MB로 {thread_start_s}초 만에 준비되었습니다. 응답 시간은 "
        "{broker_p50} ms 대 {thread_p50} ms(p50)였고, 발행 확인을 받는 발행 한 번만 "
        "{confirm_ms} ms가 걸립니다."
    ),
    "lesson.price.contradicted": (
        "이번에는 아닙니다: 메시지 브로커 방식은 프로세스 {broker_procs}개가 {broker_mb} MB, "
        "내부 비동기는 {thread_procs}개가 {thread_mb} MB를 썼습니다."
    ),
    "slides.title": "메시지 브로커는 왜 쓸까: 이 컴퓨터에서 직접 잰 값",
    "slides.subtitle": (
        "회원가입 뒤 느린 환영 메일(바이러스 검사 후 SMTP 발송)을 보내는 세 방식: 동기 처리, "
        "내부 비동기, 메시지 브로커"
    ),
    "slides.machine": "측정: {date}, CPU 코어 {cores}개, {system}, Python {python}",
    "slides.rabbit": "RabbitMQ {version}",
    "slides.lessons": "강의 노트의 주장 {n}가지를 실제 프로세스로 측정했습니다",
    "slides.seed": "시드 {seed}",
    "slides.quick": "절반 크기로 측정",
    "slides.predicted": "예측: {value}",
    "slides.by_hand": "직접 해 보기:",
    "slides.memory": "메모리 (RSS, MB)",
    "slides.startup": "시작 시간 (초)",
    "slides.part.app": "앱 서버",
    "slides.part.workers": "워커",
    "slides.part.broker": "RabbitMQ",
    "slides.processes": "프로세스 {n}개",
    "slides.processes.one": "프로세스 {n}개",
    "slides.threads": "한 프로세스 안의 스레드",
    "slides.worker_processes": "워커 프로세스",
    "slides.senders": "발송자 수",
    "slides.first_try": "첫 시도에 발송 완료",
    "slides.floors.title": "이 컴퓨터의 최소 소요 시간: 각 구간에 드는 최소 시간",
    "slides.floors.none": (
        "이번 자료에서는 재지 않았습니다. 같은 폴더에 'mqlab calibrate'를 실행한 뒤 --from으로 "
        "자료를 다시 만드세요."
    ),
    "slides.floors.axis": "밀리초 (막대: p50, 표시: p99)",
    "slides.sources.title": "출처: 이 자료가 재현한 강의 노트의 주장",
    "slides.sources.row": "슬라이드 {slide}: {claim} ({source})",
    "slides.sources.files": (
        "모든 숫자의 결과 파일은 이 자료와 같은 폴더에 있습니다. 'mqlab chart 파일'로 차트를 "
        "다시 그릴 수 있습니다."
    ),
    "slides.notes": "강의 노트: 메시지 큐, §0~§4",
    "slides.kicker": "실습 {n} · {source}",
    "slides.outline.slide": "슬라이드 {n}: {title}",
    "slides.outline.files": "결과 파일",
    "fault.node-kill": "클러스터 노드 강제 종료",
    "fault.node-loss": "클러스터 노드 디스크째 유실",
    "crash.fault.node-kill": (
        "클러스터 노드 강제 종료: 큐를 가진 노드(클래식 큐는 홈 노드, 쿼럼 큐는 리더)를 부하 "
        "도중 SIGKILL로 강제 종료하고 자기 데이터로 재시작했습니다."
    ),
    "crash.fault.node-loss": (
        "클러스터 노드 디스크째 유실: 큐를 가진 노드를 부하 도중 SIGKILL로 강제 종료하고 "
        "데이터를 지운 뒤 클러스터에서 제외했습니다. 그 노드는 남은 부하 동안 꺼져 있고, 다음 "
        "시행은 빈 노드들로 다시 구성한 클러스터에서 진행합니다."
    ),
    "col.queue_type": "큐",
    "col.recovery_s": "다시 접수까지 (초)",
    "col.recovery_s.never": "끝내 안 됨",
    "node.recovery": (
        "다시 접수까지: 강제 종료부터, 첫 실패 뒤 처음 접수된 가입 요청까지의 시간입니다. "
        "0이면 실패한 가입 요청이 없었습니다."
    ),
    "col.recovery_s.short": "다시 접수 (초)",
    "slides.floors.calls": "구간마다 {n}번 호출해 측정",
    "col.told_truth": "사실대로 알림",
    "col.told_wrong": "틀리게 알림",
    "col.told_queued": '끝내 "큐에서 대기 중"',
    "col.never_heard": "소식 없음",
    "crash.meaning.told": (
        "사용자가 들은 결과: 사실대로 {told_truth}명, 틀리게 {told_wrong}명, "
        '끝내 "큐에서 대기 중" {told_queued}명, 소식 없음 {never_heard}명.'
    ),
    "broker.rabbitmq": "RabbitMQ",
    "broker.redis": "Redis Streams",
    "broker.nats": "NATS JetStream",
    "queue_type.classic": "클래식 큐",
    "queue_type.quorum": "쿼럼 큐",
    "queue_type.classic.short": "클래식",
    "queue_type.quorum.short": "쿼럼",
    "crash.told.note": (
        "사실대로 알림: 최종 응답이나 상태가 테스트 메일 서버에 실제로 도착한 결과와 일치한 "
        "사용자 수 / 그 행의 전체 사용자 수(가입 요청 1건에 1명)."
    ),
    "node.meaning.kept": "강제 종료 뒤 거절된 가입 요청이 없었습니다.",
    "node.meaning.back": "강제 종료 {s}초 뒤 다시 가입 요청을 접수했습니다.",
    "node.meaning.back.median": (
        "강제 종료 {s}초 뒤 다시 가입 요청을 접수했습니다({n}회 시행의 중앙값)."
    ),
    "node.meaning.never": "강제 종료부터 부하가 끝날 때까지 가입 요청을 거절했습니다.",
    "node.meaning.never_some": (
        "{n}회 시행 중 {k}회는 부하가 끝날 때까지 가입 요청을 다시 접수하지 못했습니다."
    ),
    "price.title": "복제의 대가: 같은 부하를 큐 종류마다 차례로",
    "price.confirm_p50": "발행 확인 단독 측정 p50 (ms)",
    "price.confirm_p95": "발행 확인 단독 측정 p95 (ms)",
    "price.ratio": "발행 확인 p50, {base} 대비 배수",
    "price.meaning.base": (
        "{queue}: 발행 확인만 따로 재면 중앙값 {confirm} ms였고, 가입 요청은 중앙값 {p50} ms 만에 "
        "응답받았으며, 초당 {tput}통이 발송되었습니다."
    ),
    "price.meaning": (
        "{queue}: 발행 확인만 따로 재면 중앙값 {confirm} ms로 {base}의 {base_ms} ms보다 {x}배 "
        "걸렸고, 가입 요청은 중앙값 {p50} ms 만에 응답받았으며, 초당 {tput}통이 발송되었습니다."
    ),
    "price.meaning.no_floor": (
        "{queue}: 발행 확인은 따로 재지 않았습니다. 가입 요청은 중앙값 {p50} ms 만에 "
        "응답받았으며, 초당 {tput}통이 발송되었습니다."
    ),
    "price.why.classic": "클래식 큐는 한 노드에만 있어, 발행 확인은 그 노드 하나만 기다립니다.",
    "price.why.quorum": "쿼럼 큐는 복제본 과반이 작업을 디스크에 쓴 뒤에 발행을 확인합니다.",
    "chart.price.title": "복제의 대가: 클래식 큐와 쿼럼 큐",
    "chart.price.confirm": "발행 확인까지, 단독 측정 (ms)",
    "chart.price.response": "가입 요청 응답 (ms)",
    "chart.node.recovery": "강제 종료 뒤 다시 접수까지 (초)",
    "chart.node.never_some": "{n}회 중 {k}회 끝내 안 됨",
    "target.node": "클러스터 노드",
    "chart.node.median": "{n}회 시행의 중앙값",
}
