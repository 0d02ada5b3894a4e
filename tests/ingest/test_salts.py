from tracker.ingest.salts import DailySalts

MIDNIGHT = 1_795_478_400  # 2026-11-24 00:00:00 UTC


def test_the_salt_changes_at_midnight_utc_and_only_then(tmp_path):
    salts = DailySalts(tmp_path)
    evening = salts.current(MIDNIGHT - 3600)
    assert salts.current(MIDNIGHT - 0.001) == evening
    morning = salts.current(MIDNIGHT)
    assert morning != evening
    assert salts.current(MIDNIGHT + 86_399) == morning
    assert [p.name for p in tmp_path.iterdir()] == ["2026-11-24"]


def test_workers_share_the_day_salt(tmp_path):
    assert DailySalts(tmp_path).current(MIDNIGHT) == DailySalts(tmp_path).current(MIDNIGHT + 60)
