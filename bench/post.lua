-- wrk script: POST batches of BATCH events, each with a fresh event_id (so dedupe does real work).
local batch = tonumber(os.getenv("BATCH") or "1")
math.randomseed(os.time() + (tonumber(tostring({}):sub(8), 16) or 0))

local function uuid()
  return string.format("%08x-%04x-4%03x-%04x-%012x", math.random(0, 0xffffffff), math.random(0, 0xffff),
    math.random(0, 0xfff), math.random(0x8000, 0xbfff), math.random(0, 0xffffffffffff))
end

local pages = {"/", "/c/shoes", "/p/sku-1", "/cart", "/checkout"}
local names = {"page_view", "view_item", "add_to_cart", "begin_checkout", "page_view"}

request = function()
  local events = {}
  for i = 1, batch do
    local k = math.random(1, #pages)
    events[i] = string.format(
      '{"name":"%s","url":"https://shop.example%s?utm_source=news","referrer":"https://www.google.com/","event_id":"%s","visitor":"v%d"}',
      names[k], pages[k], uuid(), math.random(1, 50000))
  end
  local body = '{"site":"demo","events":[' .. table.concat(events, ",") .. ']}'
  return wrk.format("POST", "/api/event", {["Content-Type"] = "application/json",
    ["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"}, body)
end
