"""One term per concept, in English and Korean: the vocabulary every label keeps to."""

# One term per concept: (English, Korean, Korean words that must not stand for it). A key
# whose English text holds the English term holds the Korean term in Korean (tested).
GLOSSARY: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("synchronous", "동기 처리", ("싱크로",)),
    ("in-process async", "내부 비동기", ()),
    ("message broker", "메시지 브로커", ()),
    ("backlog", "적체", ()),
    ("lost", "유실", ()),
    ("duplicates", "중복", ()),
    ("app server", "앱 서버", ("앱 프로세스",)),
    ("killed", "강제 종료", ()),
    ("restarted", "재시작", ()),
    ("worker", "워커", ()),
    ("scan", "검사", ()),
    ("floors", "최소 소요 시간", ("바닥값",)),
    ("test mail server", "테스트 메일 서버", ("싱크",)),
    ("behind schedule", "전송 시각 밀림", ("sleep 대기",)),
    ("throughput", "처리량", ()),
    ("ideal", "이론치", ()),
    ("users waiting", "기다리는 사용자", ()),
    ("signups", "가입 요청", ()),
)
