// vhost-user wire constants (QEMU docs/interop/vhost-user.rst as shipped in 7.2; hw/virtio/vhost-user.c).
// All message integers are host byte order (little-endian on the machines we support).

export const HEADER_SIZE = 12;
/** the largest payload we accept: QEMU 7.2's largest for net is the 264-byte memory table */
export const MAX_PAYLOAD = 4096;
/** fds per message (VHOST_MEMORY_BASELINE_NREGIONS) */
export const MAX_FDS = 8;
export const MAX_REGIONS = 8;

export const FLAG_VERSION_MASK = 0x3;
export const VERSION = 0x1;
export const FLAG_REPLY = 0x4;
export const FLAG_NEED_REPLY = 0x8;
/** QEMU rejects a reply whose flags are anything else ("Flags 0x%x instead of 0x5") */
export const REPLY_FLAGS = VERSION | FLAG_REPLY;

/** Front-end → back-end requests (enum VhostUserRequest) */
export const enum Req {
  GET_FEATURES = 1,
  SET_FEATURES = 2,
  SET_OWNER = 3,
  RESET_OWNER = 4,
  SET_MEM_TABLE = 5,
  SET_LOG_BASE = 6,
  SET_LOG_FD = 7,
  SET_VRING_NUM = 8,
  SET_VRING_ADDR = 9,
  SET_VRING_BASE = 10,
  GET_VRING_BASE = 11,
  SET_VRING_KICK = 12,
  SET_VRING_CALL = 13,
  SET_VRING_ERR = 14,
  GET_PROTOCOL_FEATURES = 15,
  SET_PROTOCOL_FEATURES = 16,
  GET_QUEUE_NUM = 17,
  SET_VRING_ENABLE = 18,
  SEND_RARP = 19,
  NET_SET_MTU = 20,
  SET_SLAVE_REQ_FD = 21,
  IOTLB_MSG = 22,
  SET_VRING_ENDIAN = 23,
  GET_CONFIG = 24,
  SET_CONFIG = 25,
  CREATE_CRYPTO_SESSION = 26,
  CLOSE_CRYPTO_SESSION = 27,
  POSTCOPY_ADVISE = 28,
  POSTCOPY_LISTEN = 29,
  POSTCOPY_END = 30,
  GET_INFLIGHT_FD = 31,
  SET_INFLIGHT_FD = 32,
  GPU_SET_SOCKET = 33,
  RESET_DEVICE = 34,
  VRING_KICK = 35,
  GET_MAX_MEM_SLOTS = 36,
  ADD_MEM_REG = 37,
  REM_MEM_REG = 38,
  SET_STATUS = 39,
  GET_STATUS = 40,
}

const NAMES: Record<number, string> = {
  1: 'GET_FEATURES', 2: 'SET_FEATURES', 3: 'SET_OWNER', 4: 'RESET_OWNER', 5: 'SET_MEM_TABLE',
  6: 'SET_LOG_BASE', 7: 'SET_LOG_FD', 8: 'SET_VRING_NUM', 9: 'SET_VRING_ADDR', 10: 'SET_VRING_BASE',
  11: 'GET_VRING_BASE', 12: 'SET_VRING_KICK', 13: 'SET_VRING_CALL', 14: 'SET_VRING_ERR',
  15: 'GET_PROTOCOL_FEATURES', 16: 'SET_PROTOCOL_FEATURES', 17: 'GET_QUEUE_NUM', 18: 'SET_VRING_ENABLE',
  19: 'SEND_RARP', 20: 'NET_SET_MTU', 21: 'SET_SLAVE_REQ_FD', 22: 'IOTLB_MSG', 23: 'SET_VRING_ENDIAN',
  24: 'GET_CONFIG', 25: 'SET_CONFIG', 26: 'CREATE_CRYPTO_SESSION', 27: 'CLOSE_CRYPTO_SESSION',
  28: 'POSTCOPY_ADVISE', 29: 'POSTCOPY_LISTEN', 30: 'POSTCOPY_END', 31: 'GET_INFLIGHT_FD',
  32: 'SET_INFLIGHT_FD', 33: 'GPU_SET_SOCKET', 34: 'RESET_DEVICE', 35: 'VRING_KICK',
  36: 'GET_MAX_MEM_SLOTS', 37: 'ADD_MEM_REG', 38: 'REM_MEM_REG', 39: 'SET_STATUS', 40: 'GET_STATUS',
};

export function requestName(req: number): string {
  return NAMES[req] ?? `UNKNOWN(${req >>> 0})`;
}

/** Protocol feature bits (GET/SET_PROTOCOL_FEATURES) */
export const PROTOCOL_F_MQ = 0;
export const PROTOCOL_F_LOG_SHMFD = 1;
export const PROTOCOL_F_RARP = 2;
export const PROTOCOL_F_REPLY_ACK = 3;
export const PROTOCOL_F_NET_MTU = 4;
export const PROTOCOL_F_CONFIGURE_MEM_SLOTS = 15;
export const PROTOCOL_F_STATUS = 16;

/** vring file payload: bits 0-7 index, bit 8 "no fd attached" */
export const VRING_IDX_MASK = 0xff;
export const VRING_NOFD_MASK = 0x100;

/** Payload sizes by layout (§1.3 of our reference) */
export const SIZE_U64 = 8;
export const SIZE_VRING_STATE = 8;
export const SIZE_VRING_ADDR = 40;
export const SIZE_MEM_REGION = 32;
export const SIZE_SINGLE_REGION = 40;
