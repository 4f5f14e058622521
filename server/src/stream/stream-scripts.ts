import { luaScript } from './redis-client';

/** Offsets (`ms-seq`) compared numerically in Lua (both parts fit a double for any real stream). */
const COMPARE = `
local function pad(id)
  local d = string.find(id, '-', 1, true)
  local ms, seq = string.sub(id, 1, d - 1), string.sub(id, d + 1)
  return string.rep('0', 20 - #ms) .. ms .. '-' .. string.rep('0', 20 - #seq) .. seq
end
local function parts(id)
  local d = string.find(id, '-', 1, true)
  return tonumber(string.sub(id, 1, d - 1)), tonumber(string.sub(id, d + 1))
end
local function cmp(a, b)
  local am, as = parts(a)
  local bm, bs = parts(b)
  if am ~= bm then return am < bm and -1 or 1 end
  if as ~= bs then return as < bs and -1 or 1 end
  return 0
end
`;

/**
 * Where an offset a caller has seen stands in the stream (KEYS[1]): `ok`, `trimmed` (older than the
 * first entry), `behind` (the head is behind it) or `missing` (no entry has that id although the stream
 * should have it); with the stream's last generated id and first entry id ('' when none).
 */
const INSPECT = `
local function inspect(offset)
  local last, first = '0-0', ''
  local ok, info = pcall(redis.call, 'XINFO', 'STREAM', KEYS[1])
  if ok then
    for i = 1, #info, 2 do
      if info[i] == 'last-generated-id' then last = info[i + 1] end
      if info[i] == 'first-entry' and type(info[i + 1]) == 'table' then first = info[i + 1][1] end
    end
  end
  if offset == '' then return 'ok', last, first end
  if cmp(last, offset) < 0 then return 'behind', last, first end
  if first == '' or cmp(offset, first) < 0 then return 'trimmed', last, first end
  if #redis.call('XRANGE', KEYS[1], offset, offset) == 0 then return 'missing', last, first end
  return 'ok', last, first
end
`;

/**
 * Appends a group of entries to a partition's stream, in order, each atomically with its idempotency
 * record, and trims the stream by time (MINID, on Redis's own clock) and by a hard length cap; trimming
 * is approximate (`~`), so the stream keeps at least the window. A writer sends the appends it issued in
 * one synchronous run as one group (see `RedisStreamLog.append`): one call, one round trip, and one
 * wake-up of every reader for all of them, instead of one each.
 *
 * It also keeps the writer's side of the promise that the stream never moves backwards silently. The
 * writer passes the epoch and offset of its latest append: if the group's first new entry's offset is
 * not past it, the stream lost that entry (its clock or its data went back), and a new epoch starts just
 * before the new entry. After a failure the writer also asks (`verify`) whether the stream still has
 * that entry at all, which covers a stream that lost it and then moved past it again. A missing epoch
 * record (a new partition, or a Redis that lost its data) is created, starting at a marker entry (an
 * epoch starts at a real offset, never at `0-0`, which has no age).
 * A service room's entry is also added to the room's history index (a sorted set of zero-padded offsets,
 * in the same slot, trimmed by the window and a length cap), so a history request reads the entries of
 * one room without scanning the other orgs' entries of the partition (see {@link HISTORY_SCRIPT}).
 *
 * Appends of one writer are stored in the order the writer issued them, or not at all (the fence): the
 * writer numbers its appends, and the script refuses one whose number is not above the last one stored
 * (kept in the writer's fence key, expiring after the retention). Why: a writer pipelines its appends,
 * and the Redis Cluster client sends a command again on its own after a `MOVED` (a failover): those
 * queued on the old master reach the new one after newer appends sent there directly. Such a late
 * append is refused rather than stored after the newer ones, so the stream's order is the issue order.
 *
 * KEYS: stream, epoch, the writer's fence key (any key of the slot when not fenced), then for each
 * entry its history index and its idempotency key (for either, any key of the slot when it has none).
 * ARGV: retentionMs, maxLen, new epoch id, idempotency TTL ms, the writer's epoch ('' for none), its
 * latest offset ('' for none), verify ('1' or ''), the history indexes' length cap, the number of
 * entries; then for each entry: its event id, indexed ('1' or ''), its number in the writer's issue
 * order ('' = not fenced), idempotent ('1' or ''), its field count, its fields.
 * Returns `{epoch record, status, value, status, value, …}`, a status and value per entry: `1, offset`;
 * for a repeated idempotency key `0, "<event id> <offset>"`; for an append refused by the fence
 * `2, "<number of the last append stored>"` (nothing written).
 */
export const APPEND_SCRIPT = luaScript(`${COMPARE}${INSPECT}
local function before(id)
  local ms, seq = parts(id)
  if seq > 0 then return string.format('%d-%d', ms, seq - 1) end
  return string.format('%d-18446744073709551615', ms - 1)
end
local record = redis.call('GET', KEYS[2])
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local minId = tostring(math.max(0, nowMs - tonumber(ARGV[1]))) .. '-0'
if not record then
  record = ARGV[3] .. ' ' .. redis.call('XADD', KEYS[1], '*', 'h', 'epoch')
  redis.call('SET', KEYS[2], record)
end
local mine = ARGV[5] ~= '' and ARGV[6] ~= '' and string.match(record, '^(%S+)') == ARGV[5]
if mine and ARGV[7] == '1' then
  local status, last = inspect(ARGV[6])
  if status == 'behind' or status == 'missing' then
    record = ARGV[3] .. ' ' .. last
    redis.call('SET', KEYS[2], record)
    mine = false
  end
end
local out = {record}
local fence = nil
local fenceMoved = false
local appended = false
local at = 10
for i = 1, tonumber(ARGV[9]) do
  local eventId, indexed, number, idempotent, count = ARGV[at], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3], tonumber(ARGV[at + 4])
  local first, last = at + 5, at + 4 + count
  at = last + 1
  local historyKey, idempotencyKey = KEYS[2 + 2 * i], KEYS[3 + 2 * i]
  local prior = idempotent == '1' and redis.call('GET', idempotencyKey)
  if number ~= '' and not prior and fence == nil then fence = tonumber(redis.call('GET', KEYS[3]) or '0') end
  if prior then
    out[#out + 1] = 0
    out[#out + 1] = prior
  elseif number ~= '' and fence >= tonumber(number) then
    out[#out + 1] = 2
    out[#out + 1] = tostring(fence)
  else
    local offset = redis.call('XADD', KEYS[1], 'MINID', '~', minId, '*', unpack(ARGV, first, last))
    if mine and not appended and cmp(offset, ARGV[6]) <= 0 then
      record = ARGV[3] .. ' ' .. before(offset)
      redis.call('SET', KEYS[2], record)
      out[1] = record
    end
    appended = true
    if indexed == '1' then
      redis.call('ZADD', historyKey, 0, pad(offset))
      redis.call('ZREMRANGEBYLEX', historyKey, '-', '(' .. pad(minId))
      local extra = redis.call('ZCARD', historyKey) - tonumber(ARGV[8])
      if extra > 0 then redis.call('ZREMRANGEBYRANK', historyKey, 0, extra - 1) end
      redis.call('PEXPIRE', historyKey, ARGV[1])
    end
    if number ~= '' then
      fence = tonumber(number)
      fenceMoved = true
    end
    if idempotent == '1' then redis.call('SET', idempotencyKey, eventId .. ' ' .. offset, 'PX', ARGV[4]) end
    out[#out + 1] = 1
    out[#out + 1] = offset
  end
end
if appended then redis.call('XTRIM', KEYS[1], 'MAXLEN', '~', ARGV[2]) end
if fenceMoved then redis.call('SET', KEYS[3], tostring(fence), 'PX', ARGV[1]) end
return out
`);

/**
 * Reads a partition's state and checks an offset against it, in one atomic step. KEYS: stream, epoch.
 * ARGV: the epoch the caller knows ('' for none), an offset it holds in that epoch ('' for none), a new
 * epoch id, and the mode: `advance` (a reader or writer that has itself seen the offset: a stream that
 * no longer has it moved backwards, and a new epoch is opened at its head) or `check` (a client's
 * position: reported, never acted on).
 * Returns `{epoch record, status, last-generated-id, first entry id or ''}`, status one of:
 * - `created`: there was no epoch record (new partition, or Redis lost its data); one was made, starting
 *   at the stream's head (a marker entry written if it has none).
 * - `changed`: the epoch is not the caller's.
 * - `ok`: same epoch, and the stream still holds the offset (or trimmed it in order).
 * - `trimmed`: the offset is older than the stream's first entry (trimmed by age or length).
 * - `moved-back` (`advance`): the head is behind the offset, or the entry at the offset is gone; the
 *   record now names a new epoch starting at the head.
 * - `ahead` / `missing` (`check`): the head is behind the offset / no entry has that id.
 */
export const STATE_SCRIPT = luaScript(`${COMPARE}${INSPECT}
local record = redis.call('GET', KEYS[2])
local epochOf = record and string.match(record, '^(%S+)')
local status, last, first = inspect((record and ARGV[1] ~= '' and epochOf == ARGV[1]) and ARGV[2] or '')
if not record then
  -- What the stream holds was written after the loss, before anyone noticed: it is covered by the
  -- resync every node sends when it adopts this epoch, which starts at a real entry (a marker if none).
  if last == '0-0' then last = redis.call('XADD', KEYS[1], '*', 'h', 'epoch') end
  record = ARGV[3] .. ' ' .. last
  redis.call('SET', KEYS[2], record)
  return {record, 'created', last, first}
end
if ARGV[1] == '' or epochOf ~= ARGV[1] then return {record, 'changed', last, first} end
if status == 'ok' or status == 'trimmed' then return {record, status, last, first} end
if ARGV[4] ~= 'advance' then return {record, status == 'behind' and 'ahead' or 'missing', last, first} end
record = ARGV[3] .. ' ' .. last
redis.call('SET', KEYS[2], record)
return {record, 'moved-back', last, first}
`);

/**
 * One page of a service room's history, newest first, read through its index (see {@link APPEND_SCRIPT})
 * so the cost grows with the page, not with the partition's stream. KEYS: history index, stream. ARGV:
 * the cursor's offset ('' = from the newest), whether that entry itself is included ('1': the cursor
 * points inside it), the events wanted, the window in ms (older entries are not history), the most index
 * entries to look at (a scan budget: entries the stream trimmed are skipped), the cursor's event index. Returns
 * `{ entries, more, last }`: `entries` as XRANGE returns them (newest first), `more` = '1' when the scan
 * stopped on the budget or the count rather than at the index's end ('' otherwise), `last` the offset
 * of the last index entry looked at ('' for none).
 */
export const HISTORY_SCRIPT = luaScript(`${COMPARE}
local t = redis.call('TIME')
local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local floor = '[' .. pad(tostring(math.max(0, nowMs - tonumber(ARGV[4]))) .. '-0')
local max = '+'
if ARGV[1] ~= '' then max = (ARGV[2] == '1' and '[' or '(') .. pad(ARGV[1]) end
local want, budget = tonumber(ARGV[3]), tonumber(ARGV[5])
local out, events, scanned, more, last = {}, 0, 0, '', ''
while true do
  local chunk = math.min(budget - scanned, want - events + 8)
  if chunk <= 0 then more = '1' break end
  local ids = redis.call('ZREVRANGEBYLEX', KEYS[1], max, floor, 'LIMIT', 0, chunk)
  if #ids == 0 then break end
  for _, padded in ipairs(ids) do
    scanned = scanned + 1
    local ms, seq = string.match(padded, '^0*(%d-)%-0*(%d-)$')
    if ms == '' then ms = '0' end
    if seq == '' then seq = '0' end
    last = ms .. '-' .. seq
    local entry = redis.call('XRANGE', KEYS[2], last, last)
    if #entry > 0 then
      out[#out + 1] = entry[1]
      local n = tonumber(entry[1][2][4]) or 1
      -- The cursor's own entry counts only the events before the cursor.
      if ARGV[2] == '1' and last == ARGV[1] then n = math.min(n, tonumber(ARGV[6])) end
      events = events + n
    end
    max = '(' .. padded
    if events >= want then more = '1' break end
  end
  if more == '1' or #ids < chunk then break end
end
return {out, more, last}
`);
