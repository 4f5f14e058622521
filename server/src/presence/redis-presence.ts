import { orgOfRoom, type PresenceMember } from '@roomwire/shared';
import { partitionKeys, partitionOf } from '../stream/partitions';
import { luaScript, type RedisHandle } from '../stream/redis-client';
import type { PresenceEngine } from './presence-engine';

/**
 * Publishes a presence change on the partition's volatile channel from inside the script, so changes
 * reach the nodes in the order the store made them (two nodes' join and leave of one user never swap).
 */
const NOTIFY = `
local function notify(channel, sharded, room, kind, user)
  local service = string.match(room, ':svc:(.+)$')
  local message = cjson.encode({room = room, presence = {service = service, type = kind, userId = user}})
  redis.call(sharded == '1' and 'SPUBLISH' or 'PUBLISH', channel, message)
end
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

/**
 * Sets one node's connection count of one user in one service room. KEYS: nodes (zset node → expiry
 * ms, on Redis's clock), users of the room (hash user → connections over all nodes), connections of the
 * room (counter), the node's members of the room (hash user → connections), the node's rooms (set).
 * ARGV: node, user, connections, liveness ms, room, channel, sharded ('1' on a cluster).
 * Returns `{ node was alive (1/0), 'join' | 'leave' | '' }`.
 */
const SET_SCRIPT = luaScript(`${NOTIFY}
local alive = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], nowMs() + tonumber(ARGV[4]), ARGV[1])
local user, count = ARGV[2], tonumber(ARGV[3])
local prev = tonumber(redis.call('HGET', KEYS[4], user) or '0')
local change = ''
if count ~= prev then
  if count > 0 then
    redis.call('HSET', KEYS[4], user, count)
    redis.call('SADD', KEYS[5], ARGV[5])
  else
    redis.call('HDEL', KEYS[4], user)
    if redis.call('HLEN', KEYS[4]) == 0 then redis.call('SREM', KEYS[5], ARGV[5]) end
  end
  local total = redis.call('HINCRBY', KEYS[2], user, count - prev)
  local before = total - (count - prev)
  if total <= 0 then redis.call('HDEL', KEYS[2], user) end
  if redis.call('INCRBY', KEYS[3], count - prev) <= 0 then redis.call('DEL', KEYS[3]) end
  if before <= 0 and total > 0 then change = 'join' elseif before > 0 and total <= 0 then change = 'leave' end
  if change ~= '' then notify(ARGV[6], ARGV[7], ARGV[5], change, user) end
end
return {alive and 1 or 0, change}
`);

/** Refreshes a node's liveness. KEYS: nodes. ARGV: node, liveness ms. Returns 1 if it was alive. */
const HEARTBEAT_SCRIPT = luaScript(`${NOTIFY}
local alive = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], nowMs() + tonumber(ARGV[2]), ARGV[1])
return alive and 1 or 0
`);

/**
 * Removes the members of dead nodes (liveness expired; or ARGV[4], a node leaving cleanly), with a leave
 * notice for each user whose last connection they held. At most 16 dead nodes per call. Its keys all
 * share the partition's hash tag (KEYS[1]'s slot). KEYS: nodes. ARGV: key prefix, channel, sharded, node.
 * Returns `{ nodes removed, users who left }`.
 */
const SWEEP_SCRIPT = luaScript(`${NOTIFY}
local dead
if ARGV[4] ~= '' then dead = {ARGV[4]} else dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. nowMs(), 'LIMIT', 0, 16) end
local left = 0
for _, node in ipairs(dead) do
  local nodeRooms = ARGV[1] .. 'n:' .. node
  for _, room in ipairs(redis.call('SMEMBERS', nodeRooms)) do
    local members = ARGV[1] .. 'm:' .. room .. '|' .. node
    local users = ARGV[1] .. 'u:' .. room
    local total = ARGV[1] .. 'c:' .. room
    local flat = redis.call('HGETALL', members)
    for i = 1, #flat, 2 do
      local user, count = flat[i], tonumber(flat[i + 1])
      if redis.call('HINCRBY', users, user, -count) <= 0 then
        redis.call('HDEL', users, user)
        notify(ARGV[2], ARGV[3], room, 'leave', user)
        left = left + 1
      end
      if redis.call('INCRBY', total, -count) <= 0 then redis.call('DEL', total) end
    end
    redis.call('DEL', members)
  end
  redis.call('DEL', nodeRooms)
  redis.call('ZREM', KEYS[1], node)
end
return {#dead, left}
`);

/** Reads a room. KEYS: users, connections. ARGV: member cap. Returns `{ users, connections, flat members or {} }`. */
const READ_SCRIPT = luaScript(`
local users = redis.call('HLEN', KEYS[1])
local connections = tonumber(redis.call('GET', KEYS[2]) or '0')
if users > tonumber(ARGV[1]) then return {users, connections, {}, 0} end
return {users, connections, redis.call('HGETALL', KEYS[1]), 1}
`);

/** Options of {@link redisPresenceEngine}. */
export interface RedisPresenceOptions {
  redis: RedisHandle;
  keyPrefix: string;
  partitionCount: number;
  nodeId: string;
  /** How long a node stays alive without a heartbeat, in ms (two heartbeat intervals). */
  livenessMs: number;
}

/**
 * Presence in Redis, next to the stream: every key of an org's presence carries its partition's hash tag,
 * so the scripts run on the master of the partition's slot on a Redis Cluster. Per partition, a sorted set
 * of nodes scored by liveness expiry; per service room, the users' cluster-wide connection counts and each
 * node's share, so a dead node's share can be taken out by any other node.
 */
export function redisPresenceEngine(options: RedisPresenceOptions): PresenceEngine {
  const { redis, nodeId } = options;
  const sharded = redis.isCluster ? '1' : '';
  const keysOf = (index: number) => partitionKeys(options.keyPrefix, index, options.partitionCount);
  const roomKeys = (room: string) => {
    const keys = keysOf(partitionOf(orgOfRoom(room), options.partitionCount));
    const p = keys.presencePrefix;
    return { keys, nodes: `${p}nodes`, users: `${p}u:${room}`, total: `${p}c:${room}`, members: `${p}m:${room}|${nodeId}`, nodeRooms: `${p}n:${nodeId}` };
  };
  const sweepOne = async (index: number, node: string): Promise<void> => {
    const keys = keysOf(index);
    // Up to 16 dead nodes per call: go on while a call found as many.
    for (let round = 0; round < 64; round++) {
      const [removed] = await redis.run<[number, number]>(SWEEP_SCRIPT, [`${keys.presencePrefix}nodes`], [keys.presencePrefix, keys.volatileChannel, sharded, node]);
      if (node !== '' || removed < 16) return;
    }
  };
  return {
    async set(room, userId, connections) {
      const k = roomKeys(room);
      const [alive, change] = await redis.run<[number, string]>(SET_SCRIPT, [k.nodes, k.users, k.total, k.members, k.nodeRooms], [
        nodeId,
        userId,
        String(connections),
        String(options.livenessMs),
        room,
        k.keys.volatileChannel,
        sharded,
      ]);
      return { change: change === 'join' || change === 'leave' ? change : null, wasAlive: alive === 1 };
    },
    async read(room, maxMembers) {
      const k = roomKeys(room);
      await sweepOne(k.keys.index, '');
      const [users, connections, flat, listed] = await redis.run<[number, number, string[], number]>(READ_SCRIPT, [k.users, k.total], [String(maxMembers)]);
      let members: PresenceMember[] | null = null;
      if (listed === 1) {
        members = [];
        for (let i = 0; i + 1 < flat.length; i += 2) members.push({ userId: flat[i] as string, connections: Number(flat[i + 1]) });
      }
      return { users, connections, members };
    },
    async heartbeat(partitions) {
      const lost: number[] = [];
      await Promise.all(
        partitions.map(async (index) => {
          const alive = await redis.run<number>(HEARTBEAT_SCRIPT, [`${keysOf(index).presencePrefix}nodes`], [nodeId, String(options.livenessMs)]);
          if (alive !== 1) lost.push(index);
        }),
      );
      return lost;
    },
    async sweep(partitions) {
      await Promise.all(partitions.map((index) => sweepOne(index, '')));
    },
    async leave(partitions) {
      await Promise.all(partitions.map((index) => sweepOne(index, nodeId)));
    },
  };
}
