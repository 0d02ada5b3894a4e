import time
def test_scratch(shop_data, stack_clickhouse):
    g = stack_clickhouse.grafana()
    now = int(time.time())
    f, t = f"toDateTime({now - 86400})", f"toDateTime({now})"
    qs = [
      f"SELECT count() FROM sessions(site = 'shop', from = {f}, to = {t}, gap_s = 1800)",
      f"SELECT count() FROM abandoned_carts(site = 'shop', from = {f} - INTERVAL 14 DAY, to = {t}, gap_s = 1800, idle_s = 3600, at = {t})",
      f"SELECT level, step, countIf(stage_level >= level) FROM funnel_stages(site = 'shop', from = {f}, to = {t}, window_s = 86400, gap_s = 1800) ARRAY JOIN [1,2,3,4,5,6] AS level, ['awareness','interest','consideration','intent','purchase','repurchase'] AS step GROUP BY level, step ORDER BY level",
    ]
    for q in qs:
        try:
            print(q[:60], g.query(q).result_rows)
        except Exception as e:
            print("ERR", q[:60], str(e)[:400])
