// SNMP MIB counters by Linux's names (include/uapi/linux/snmp.h, net/ipv4/proc.c). Plain numeric
// fields so protocols increment them directly (`mib.Ip.InReceives++`). The classes hold every counter
// the model knows (the union over kernel versions; the *_FIELDS arrays are Linux 6.12's order); which
// of them /proc lists, and in what order, is the kernel version's MibLayout (core/mib-layout.ts):
// NetMib.layout, Linux 6.1's by default. mib_list and the *_seq_show functions print by that layout.
import { DEFAULT_KERNEL_RELEASE, type KernelRelease, type MibLayout } from './mib-layout';
import { MIB_LAYOUT_6_1 } from './mib-layout-6-1';

/** Ip (snmp4_ipstats_list); Forwarding and DefaultTTL are sysctls printed first */
export class IpMib {
  /** 1 = forwarding, 2 = not (RFC 1213 ipForwarding); Linux default net.ipv4.ip_forward=0 → 2 */
  Forwarding = 2;
  /** net.ipv4.ip_default_ttl */
  DefaultTTL = 64;
  InReceives = 0;
  InHdrErrors = 0;
  InAddrErrors = 0;
  ForwDatagrams = 0;
  InUnknownProtos = 0;
  InDiscards = 0;
  InDelivers = 0;
  OutRequests = 0;
  OutDiscards = 0;
  OutNoRoutes = 0;
  ReasmTimeout = 0;
  ReasmReqds = 0;
  ReasmOKs = 0;
  ReasmFails = 0;
  FragOKs = 0;
  FragFails = 0;
  FragCreates = 0;
  /**
   * IPSTATS_MIB_OUTPKTS, +1 per skb handed to the neighbour layer (a GSO skb once). In /proc only
   * since Linux 6.3 ("net: fix IPSTATS_MIB_OUTPKGS increment in OutForwDatagrams"): counted always,
   * listed only by the 6.12 layout.
   */
  OutTransmits = 0;
}
export const IP_FIELDS: readonly (keyof IpMib)[] = [
  'Forwarding', 'DefaultTTL',
  'InReceives', 'InHdrErrors', 'InAddrErrors', 'ForwDatagrams', 'InUnknownProtos', 'InDiscards',
  'InDelivers', 'OutRequests', 'OutDiscards', 'OutNoRoutes', 'ReasmTimeout', 'ReasmReqds', 'ReasmOKs',
  'ReasmFails', 'FragOKs', 'FragFails', 'FragCreates', 'OutTransmits',
];

/** IpExt (snmp4_ipextstats_list, /proc/net/netstat) */
export class IpExtMib {
  InNoRoutes = 0;
  InTruncatedPkts = 0;
  InMcastPkts = 0;
  OutMcastPkts = 0;
  InBcastPkts = 0;
  OutBcastPkts = 0;
  InOctets = 0;
  OutOctets = 0;
  InMcastOctets = 0;
  OutMcastOctets = 0;
  InBcastOctets = 0;
  OutBcastOctets = 0;
  InCsumErrors = 0;
  InNoECTPkts = 0;
  InECT1Pkts = 0;
  InECT0Pkts = 0;
  InCEPkts = 0;
  ReasmOverlaps = 0;
}
export const IPEXT_FIELDS: readonly (keyof IpExtMib)[] = [
  'InNoRoutes', 'InTruncatedPkts', 'InMcastPkts', 'OutMcastPkts', 'InBcastPkts', 'OutBcastPkts', 'InOctets',
  'OutOctets', 'InMcastOctets', 'OutMcastOctets', 'InBcastOctets', 'OutBcastOctets', 'InCsumErrors',
  'InNoECTPkts', 'InECT1Pkts', 'InECT0Pkts', 'InCEPkts', 'ReasmOverlaps',
];

/**
 * IcmpMsg: per-type counters (ICMPMSGIN_INC_STATS / ICMPMSGOUT_INC_STATS). Increment
 * `IcmpMsg.InType[type]++` / `IcmpMsg.OutType[type]++`; /proc prints only non-zero types.
 */
export class IcmpMsgMib {
  readonly InType = new Float64Array(256);
  readonly OutType = new Float64Array(256);
}

/** icmpmibmap (net/ipv4/proc.c): the per-type columns of the Icmp line, read from IcmpMsg */
export const ICMP_MIB_MAP: readonly (readonly [string, number])[] = [
  ['DestUnreachs', 3],
  ['TimeExcds', 11],
  ['ParmProbs', 12],
  ['SrcQuenchs', 4],
  ['Redirects', 5],
  ['Echos', 8],
  ['EchoReps', 0],
  ['Timestamps', 13],
  ['TimestampReps', 14],
  ['AddrMasks', 17],
  ['AddrMaskReps', 18],
];

/**
 * Icmp. InMsgs/InErrors/InCsumErrors/OutMsgs/OutErrors/OutRateLimit* are counters of their own;
 * In<Type>/Out<Type> are views of IcmpMsg (icmp_put() prints them from there): `Icmp.InEchos++`
 * and `IcmpMsg.InType[8]++` are the same counter.
 */
export class IcmpMib {
  InMsgs = 0;
  InErrors = 0;
  InCsumErrors = 0;
  OutMsgs = 0;
  OutErrors = 0;
  OutRateLimitGlobal = 0;
  OutRateLimitHost = 0;
  constructor(private readonly msg: IcmpMsgMib) {}
  get InDestUnreachs(): number {
    return this.msg.InType[3];
  }
  set InDestUnreachs(v: number) {
    this.msg.InType[3] = v;
  }
  get OutDestUnreachs(): number {
    return this.msg.OutType[3];
  }
  set OutDestUnreachs(v: number) {
    this.msg.OutType[3] = v;
  }
  get InTimeExcds(): number {
    return this.msg.InType[11];
  }
  set InTimeExcds(v: number) {
    this.msg.InType[11] = v;
  }
  get OutTimeExcds(): number {
    return this.msg.OutType[11];
  }
  set OutTimeExcds(v: number) {
    this.msg.OutType[11] = v;
  }
  get InParmProbs(): number {
    return this.msg.InType[12];
  }
  set InParmProbs(v: number) {
    this.msg.InType[12] = v;
  }
  get OutParmProbs(): number {
    return this.msg.OutType[12];
  }
  set OutParmProbs(v: number) {
    this.msg.OutType[12] = v;
  }
  get InSrcQuenchs(): number {
    return this.msg.InType[4];
  }
  set InSrcQuenchs(v: number) {
    this.msg.InType[4] = v;
  }
  get OutSrcQuenchs(): number {
    return this.msg.OutType[4];
  }
  set OutSrcQuenchs(v: number) {
    this.msg.OutType[4] = v;
  }
  get InRedirects(): number {
    return this.msg.InType[5];
  }
  set InRedirects(v: number) {
    this.msg.InType[5] = v;
  }
  get OutRedirects(): number {
    return this.msg.OutType[5];
  }
  set OutRedirects(v: number) {
    this.msg.OutType[5] = v;
  }
  get InEchos(): number {
    return this.msg.InType[8];
  }
  set InEchos(v: number) {
    this.msg.InType[8] = v;
  }
  get OutEchos(): number {
    return this.msg.OutType[8];
  }
  set OutEchos(v: number) {
    this.msg.OutType[8] = v;
  }
  get InEchoReps(): number {
    return this.msg.InType[0];
  }
  set InEchoReps(v: number) {
    this.msg.InType[0] = v;
  }
  get OutEchoReps(): number {
    return this.msg.OutType[0];
  }
  set OutEchoReps(v: number) {
    this.msg.OutType[0] = v;
  }
  get InTimestamps(): number {
    return this.msg.InType[13];
  }
  set InTimestamps(v: number) {
    this.msg.InType[13] = v;
  }
  get OutTimestamps(): number {
    return this.msg.OutType[13];
  }
  set OutTimestamps(v: number) {
    this.msg.OutType[13] = v;
  }
  get InTimestampReps(): number {
    return this.msg.InType[14];
  }
  set InTimestampReps(v: number) {
    this.msg.InType[14] = v;
  }
  get OutTimestampReps(): number {
    return this.msg.OutType[14];
  }
  set OutTimestampReps(v: number) {
    this.msg.OutType[14] = v;
  }
  get InAddrMasks(): number {
    return this.msg.InType[17];
  }
  set InAddrMasks(v: number) {
    this.msg.InType[17] = v;
  }
  get OutAddrMasks(): number {
    return this.msg.OutType[17];
  }
  set OutAddrMasks(v: number) {
    this.msg.OutType[17] = v;
  }
  get InAddrMaskReps(): number {
    return this.msg.InType[18];
  }
  set InAddrMaskReps(v: number) {
    this.msg.InType[18] = v;
  }
  get OutAddrMaskReps(): number {
    return this.msg.OutType[18];
  }
  set OutAddrMaskReps(v: number) {
    this.msg.OutType[18] = v;
  }
}
export const ICMP_FIELDS: readonly string[] = [
  'InMsgs', 'InErrors', 'InCsumErrors',
  ...ICMP_MIB_MAP.map(([n]) => `In${n}`),
  'OutMsgs', 'OutErrors', 'OutRateLimitGlobal', 'OutRateLimitHost',
  ...ICMP_MIB_MAP.map(([n]) => `Out${n}`),
];

/** Tcp (snmp4_tcp_list); RtoAlgorithm..MaxConn are the constants tcp_mib_init sets */
export class TcpMib {
  RtoAlgorithm = 1;
  RtoMin = 200;
  RtoMax = 120000;
  MaxConn = -1;
  ActiveOpens = 0;
  PassiveOpens = 0;
  AttemptFails = 0;
  EstabResets = 0;
  CurrEstab = 0;
  InSegs = 0;
  OutSegs = 0;
  RetransSegs = 0;
  InErrs = 0;
  OutRsts = 0;
  InCsumErrors = 0;
}
export const TCP_FIELDS: readonly (keyof TcpMib)[] = [
  'RtoAlgorithm', 'RtoMin', 'RtoMax', 'MaxConn', 'ActiveOpens', 'PassiveOpens', 'AttemptFails',
  'EstabResets', 'CurrEstab', 'InSegs', 'OutSegs', 'RetransSegs', 'InErrs', 'OutRsts', 'InCsumErrors',
];

/** Udp and UdpLite (snmp4_udp_list) */
export class UdpMib {
  InDatagrams = 0;
  NoPorts = 0;
  InErrors = 0;
  OutDatagrams = 0;
  RcvbufErrors = 0;
  SndbufErrors = 0;
  InCsumErrors = 0;
  IgnoredMulti = 0;
  MemErrors = 0;
}
export const UDP_FIELDS: readonly (keyof UdpMib)[] = [
  'InDatagrams', 'NoPorts', 'InErrors', 'OutDatagrams', 'RcvbufErrors', 'SndbufErrors', 'InCsumErrors',
  'IgnoredMulti', 'MemErrors',
];

/** TcpExt (snmp4_net_list, Linux 6.12 order) */
export class TcpExtMib {
  SyncookiesSent = 0;
  SyncookiesRecv = 0;
  SyncookiesFailed = 0;
  EmbryonicRsts = 0;
  PruneCalled = 0;
  RcvPruned = 0;
  OfoPruned = 0;
  OutOfWindowIcmps = 0;
  LockDroppedIcmps = 0;
  ArpFilter = 0;
  TW = 0;
  TWRecycled = 0;
  TWKilled = 0;
  PAWSActive = 0;
  PAWSEstab = 0;
  DelayedACKs = 0;
  DelayedACKLocked = 0;
  DelayedACKLost = 0;
  ListenOverflows = 0;
  ListenDrops = 0;
  TCPHPHits = 0;
  TCPPureAcks = 0;
  TCPHPAcks = 0;
  TCPRenoRecovery = 0;
  TCPSackRecovery = 0;
  TCPSACKReneging = 0;
  TCPSACKReorder = 0;
  TCPRenoReorder = 0;
  TCPTSReorder = 0;
  TCPFullUndo = 0;
  TCPPartialUndo = 0;
  TCPDSACKUndo = 0;
  TCPLossUndo = 0;
  TCPLostRetransmit = 0;
  TCPRenoFailures = 0;
  TCPSackFailures = 0;
  TCPLossFailures = 0;
  TCPFastRetrans = 0;
  TCPSlowStartRetrans = 0;
  TCPTimeouts = 0;
  TCPLossProbes = 0;
  TCPLossProbeRecovery = 0;
  TCPRenoRecoveryFail = 0;
  TCPSackRecoveryFail = 0;
  TCPRcvCollapsed = 0;
  TCPBacklogCoalesce = 0;
  TCPDSACKOldSent = 0;
  TCPDSACKOfoSent = 0;
  TCPDSACKRecv = 0;
  TCPDSACKOfoRecv = 0;
  TCPAbortOnData = 0;
  TCPAbortOnClose = 0;
  TCPAbortOnMemory = 0;
  TCPAbortOnTimeout = 0;
  TCPAbortOnLinger = 0;
  TCPAbortFailed = 0;
  TCPMemoryPressures = 0;
  TCPMemoryPressuresChrono = 0;
  TCPSACKDiscard = 0;
  TCPDSACKIgnoredOld = 0;
  TCPDSACKIgnoredNoUndo = 0;
  TCPSpuriousRTOs = 0;
  TCPMD5NotFound = 0;
  TCPMD5Unexpected = 0;
  TCPMD5Failure = 0;
  TCPSackShifted = 0;
  TCPSackMerged = 0;
  TCPSackShiftFallback = 0;
  TCPBacklogDrop = 0;
  PFMemallocDrop = 0;
  TCPMinTTLDrop = 0;
  TCPDeferAcceptDrop = 0;
  IPReversePathFilter = 0;
  TCPTimeWaitOverflow = 0;
  TCPReqQFullDoCookies = 0;
  TCPReqQFullDrop = 0;
  TCPRetransFail = 0;
  TCPRcvCoalesce = 0;
  TCPOFOQueue = 0;
  TCPOFODrop = 0;
  TCPOFOMerge = 0;
  TCPChallengeACK = 0;
  TCPSYNChallenge = 0;
  TCPFastOpenActive = 0;
  TCPFastOpenActiveFail = 0;
  TCPFastOpenPassive = 0;
  TCPFastOpenPassiveFail = 0;
  TCPFastOpenListenOverflow = 0;
  TCPFastOpenCookieReqd = 0;
  TCPFastOpenBlackhole = 0;
  TCPSpuriousRtxHostQueues = 0;
  BusyPollRxPackets = 0;
  TCPAutoCorking = 0;
  TCPFromZeroWindowAdv = 0;
  TCPToZeroWindowAdv = 0;
  TCPWantZeroWindowAdv = 0;
  TCPSynRetrans = 0;
  TCPOrigDataSent = 0;
  TCPHystartTrainDetect = 0;
  TCPHystartTrainCwnd = 0;
  TCPHystartDelayDetect = 0;
  TCPHystartDelayCwnd = 0;
  TCPACKSkippedSynRecv = 0;
  TCPACKSkippedPAWS = 0;
  TCPACKSkippedSeq = 0;
  TCPACKSkippedFinWait2 = 0;
  TCPACKSkippedTimeWait = 0;
  TCPACKSkippedChallenge = 0;
  TCPWinProbe = 0;
  TCPKeepAlive = 0;
  TCPMTUPFail = 0;
  TCPMTUPSuccess = 0;
  TCPDelivered = 0;
  TCPDeliveredCE = 0;
  TCPAckCompressed = 0;
  TCPZeroWindowDrop = 0;
  TCPRcvQDrop = 0;
  TCPWqueueTooBig = 0;
  TCPFastOpenPassiveAltKey = 0;
  TcpTimeoutRehash = 0;
  TcpDuplicateDataRehash = 0;
  TCPDSACKRecvSegs = 0;
  TCPDSACKIgnoredDubious = 0;
  TCPMigrateReqSuccess = 0;
  TCPMigrateReqFailure = 0;
  TCPPLBRehash = 0;
  TCPAORequired = 0;
  TCPAOBad = 0;
  TCPAOKeyNotFound = 0;
  TCPAOGood = 0;
  TCPAODroppedIcmps = 0;
}
export const TCPEXT_FIELDS: readonly (keyof TcpExtMib)[] = [
  'SyncookiesSent', 'SyncookiesRecv', 'SyncookiesFailed', 'EmbryonicRsts', 'PruneCalled', 'RcvPruned',
  'OfoPruned', 'OutOfWindowIcmps', 'LockDroppedIcmps', 'ArpFilter', 'TW', 'TWRecycled', 'TWKilled',
  'PAWSActive', 'PAWSEstab', 'DelayedACKs', 'DelayedACKLocked', 'DelayedACKLost', 'ListenOverflows',
  'ListenDrops', 'TCPHPHits', 'TCPPureAcks', 'TCPHPAcks', 'TCPRenoRecovery', 'TCPSackRecovery',
  'TCPSACKReneging', 'TCPSACKReorder', 'TCPRenoReorder', 'TCPTSReorder', 'TCPFullUndo', 'TCPPartialUndo',
  'TCPDSACKUndo', 'TCPLossUndo', 'TCPLostRetransmit', 'TCPRenoFailures', 'TCPSackFailures',
  'TCPLossFailures', 'TCPFastRetrans', 'TCPSlowStartRetrans', 'TCPTimeouts', 'TCPLossProbes',
  'TCPLossProbeRecovery', 'TCPRenoRecoveryFail', 'TCPSackRecoveryFail', 'TCPRcvCollapsed',
  'TCPBacklogCoalesce', 'TCPDSACKOldSent', 'TCPDSACKOfoSent', 'TCPDSACKRecv', 'TCPDSACKOfoRecv',
  'TCPAbortOnData', 'TCPAbortOnClose', 'TCPAbortOnMemory', 'TCPAbortOnTimeout', 'TCPAbortOnLinger',
  'TCPAbortFailed', 'TCPMemoryPressures', 'TCPMemoryPressuresChrono', 'TCPSACKDiscard', 'TCPDSACKIgnoredOld',
  'TCPDSACKIgnoredNoUndo', 'TCPSpuriousRTOs', 'TCPMD5NotFound', 'TCPMD5Unexpected', 'TCPMD5Failure',
  'TCPSackShifted', 'TCPSackMerged', 'TCPSackShiftFallback', 'TCPBacklogDrop', 'PFMemallocDrop',
  'TCPMinTTLDrop', 'TCPDeferAcceptDrop', 'IPReversePathFilter', 'TCPTimeWaitOverflow',
  'TCPReqQFullDoCookies', 'TCPReqQFullDrop', 'TCPRetransFail', 'TCPRcvCoalesce', 'TCPOFOQueue', 'TCPOFODrop',
  'TCPOFOMerge', 'TCPChallengeACK', 'TCPSYNChallenge', 'TCPFastOpenActive', 'TCPFastOpenActiveFail',
  'TCPFastOpenPassive', 'TCPFastOpenPassiveFail', 'TCPFastOpenListenOverflow', 'TCPFastOpenCookieReqd',
  'TCPFastOpenBlackhole', 'TCPSpuriousRtxHostQueues', 'BusyPollRxPackets', 'TCPAutoCorking',
  'TCPFromZeroWindowAdv', 'TCPToZeroWindowAdv', 'TCPWantZeroWindowAdv', 'TCPSynRetrans', 'TCPOrigDataSent',
  'TCPHystartTrainDetect', 'TCPHystartTrainCwnd', 'TCPHystartDelayDetect', 'TCPHystartDelayCwnd',
  'TCPACKSkippedSynRecv', 'TCPACKSkippedPAWS', 'TCPACKSkippedSeq', 'TCPACKSkippedFinWait2',
  'TCPACKSkippedTimeWait', 'TCPACKSkippedChallenge', 'TCPWinProbe', 'TCPKeepAlive', 'TCPMTUPFail',
  'TCPMTUPSuccess', 'TCPDelivered', 'TCPDeliveredCE', 'TCPAckCompressed', 'TCPZeroWindowDrop', 'TCPRcvQDrop',
  'TCPWqueueTooBig', 'TCPFastOpenPassiveAltKey', 'TcpTimeoutRehash', 'TcpDuplicateDataRehash',
  'TCPDSACKRecvSegs', 'TCPDSACKIgnoredDubious', 'TCPMigrateReqSuccess', 'TCPMigrateReqFailure',
  'TCPPLBRehash', 'TCPAORequired', 'TCPAOBad', 'TCPAOKeyNotFound', 'TCPAOGood', 'TCPAODroppedIcmps',
];

/**
 * MPTcpExt (mptcp_snmp_list, net/mptcp/mib.c; printed after IpExt by mptcp_seq_show when
 * CONFIG_MPTCP=y, as on Debian). MPTCP is not modelled: these stay 0, as on a kernel with no MPTCP
 * sockets. Fields in Linux 6.1's order (the 6.12 layout does not list the group: not verified here).
 */
export class MPTcpExtMib {
  MPCapableSYNRX = 0;
  MPCapableSYNTX = 0;
  MPCapableSYNACKRX = 0;
  MPCapableACKRX = 0;
  MPCapableFallbackACK = 0;
  MPCapableFallbackSYNACK = 0;
  MPCapableEndpAttempt = 0;
  MPFallbackTokenInit = 0;
  MPTCPRetrans = 0;
  MPJoinNoTokenFound = 0;
  MPJoinSynRx = 0;
  MPJoinSynBackupRx = 0;
  MPJoinSynAckRx = 0;
  MPJoinSynAckBackupRx = 0;
  MPJoinSynAckHMacFailure = 0;
  MPJoinAckRx = 0;
  MPJoinAckHMacFailure = 0;
  DSSNotMatching = 0;
  DSSCorruptionFallback = 0;
  DSSCorruptionReset = 0;
  InfiniteMapTx = 0;
  InfiniteMapRx = 0;
  DSSNoMatchTCP = 0;
  DataCsumErr = 0;
  OFOQueueTail = 0;
  OFOQueue = 0;
  OFOMerge = 0;
  NoDSSInWindow = 0;
  DuplicateData = 0;
  AddAddr = 0;
  EchoAdd = 0;
  PortAdd = 0;
  AddAddrDrop = 0;
  MPJoinPortSynRx = 0;
  MPJoinPortSynAckRx = 0;
  MPJoinPortAckRx = 0;
  MismatchPortSynRx = 0;
  MismatchPortAckRx = 0;
  RmAddr = 0;
  RmAddrDrop = 0;
  RmSubflow = 0;
  MPPrioTx = 0;
  MPPrioRx = 0;
  MPFailTx = 0;
  MPFailRx = 0;
  MPFastcloseTx = 0;
  MPFastcloseRx = 0;
  MPRstTx = 0;
  MPRstRx = 0;
  RcvPruned = 0;
  SubflowStale = 0;
  SubflowRecover = 0;
  SndWndShared = 0;
  RcvWndShared = 0;
  RcvWndConflictUpdate = 0;
  RcvWndConflict = 0;
}

// ---- IPv6: /proc/net/snmp6 (net/ipv6/proc.c snmp6_ipstats_list, snmp6_icmp6_list, snmp6_udp6_list) ----

/** Ip6 (snmp6_ipstats_list); /proc/net/snmp6 names are "Ip6" + field */
export class Ip6Mib {
  InReceives = 0;
  InHdrErrors = 0;
  InTooBigErrors = 0;
  InNoRoutes = 0;
  InAddrErrors = 0;
  InUnknownProtos = 0;
  InTruncatedPkts = 0;
  InDiscards = 0;
  InDelivers = 0;
  OutForwDatagrams = 0;
  OutRequests = 0;
  OutDiscards = 0;
  OutNoRoutes = 0;
  ReasmTimeout = 0;
  ReasmReqds = 0;
  ReasmOKs = 0;
  ReasmFails = 0;
  FragOKs = 0;
  FragFails = 0;
  FragCreates = 0;
  InMcastPkts = 0;
  OutMcastPkts = 0;
  InOctets = 0;
  OutOctets = 0;
  InMcastOctets = 0;
  OutMcastOctets = 0;
  InBcastOctets = 0;
  OutBcastOctets = 0;
  InNoECTPkts = 0;
  InECT1Pkts = 0;
  InECT0Pkts = 0;
  InCEPkts = 0;
  /** IPSTATS_MIB_OUTPKTS (Ip6OutTransmits, /proc since 6.3, 6.12 layout only; see IpMib.OutTransmits) */
  OutTransmits = 0;
}
export const IP6_FIELDS: readonly (keyof Ip6Mib)[] = [
  'InReceives', 'InHdrErrors', 'InTooBigErrors', 'InNoRoutes', 'InAddrErrors', 'InUnknownProtos',
  'InTruncatedPkts', 'InDiscards', 'InDelivers', 'OutForwDatagrams', 'OutRequests', 'OutDiscards',
  'OutNoRoutes', 'ReasmTimeout', 'ReasmReqds', 'ReasmOKs', 'ReasmFails', 'FragOKs', 'FragFails', 'FragCreates',
  'InMcastPkts', 'OutMcastPkts', 'InOctets', 'OutOctets', 'InMcastOctets', 'OutMcastOctets', 'InBcastOctets',
  'OutBcastOctets', 'InNoECTPkts', 'InECT1Pkts', 'InECT0Pkts', 'InCEPkts', 'OutTransmits',
];

/** the named ICMPv6 types of snmp6_seq_show_icmpv6msg, in type order (RFC 2466 names) */
export const ICMP6_MIB_MAP: readonly (readonly [string, number])[] = [
  ['DestUnreachs', 1],
  ['PktTooBigs', 2],
  ['TimeExcds', 3],
  ['ParmProblems', 4],
  ['Echos', 128],
  ['EchoReplies', 129],
  ['GroupMembQueries', 130],
  ['GroupMembResponses', 131],
  ['GroupMembReductions', 132],
  ['RouterSolicits', 133],
  ['RouterAdvertisements', 134],
  ['NeighborSolicits', 135],
  ['NeighborAdvertisements', 136],
  ['Redirects', 137],
  ['MLDv2Reports', 143],
];

/**
 * Icmp6 (snmp6_icmp6_list) plus the per-type named counters, which are views of Icmp6Msg as in Linux
 * (`mib.Icmp6.InEchos++` is `mib.Icmp6Msg.InType[128]++`).
 */
export class Icmp6Mib {
  InMsgs = 0;
  InErrors = 0;
  OutMsgs = 0;
  OutErrors = 0;
  InCsumErrors = 0;
  OutRateLimitHost = 0;
  declare InDestUnreachs: number;
  declare InPktTooBigs: number;
  declare InTimeExcds: number;
  declare InParmProblems: number;
  declare InEchos: number;
  declare InEchoReplies: number;
  declare InGroupMembQueries: number;
  declare InGroupMembResponses: number;
  declare InGroupMembReductions: number;
  declare InRouterSolicits: number;
  declare InRouterAdvertisements: number;
  declare InNeighborSolicits: number;
  declare InNeighborAdvertisements: number;
  declare InRedirects: number;
  declare InMLDv2Reports: number;
  declare OutDestUnreachs: number;
  declare OutPktTooBigs: number;
  declare OutTimeExcds: number;
  declare OutParmProblems: number;
  declare OutEchos: number;
  declare OutEchoReplies: number;
  declare OutGroupMembQueries: number;
  declare OutGroupMembResponses: number;
  declare OutGroupMembReductions: number;
  declare OutRouterSolicits: number;
  declare OutRouterAdvertisements: number;
  declare OutNeighborSolicits: number;
  declare OutNeighborAdvertisements: number;
  declare OutRedirects: number;
  declare OutMLDv2Reports: number;
  constructor(readonly msg: IcmpMsgMib) {}
}
for (const [name, type] of ICMP6_MIB_MAP) {
  for (const dir of ['In', 'Out'] as const) {
    Object.defineProperty(Icmp6Mib.prototype, dir + name, {
      get(this: Icmp6Mib): number {
        return (dir === 'In' ? this.msg.InType : this.msg.OutType)[type];
      },
      set(this: Icmp6Mib, v: number) {
        (dir === 'In' ? this.msg.InType : this.msg.OutType)[type] = v;
      },
    });
  }
}
export const ICMP6_FIELDS: readonly string[] = ['InMsgs', 'InErrors', 'OutMsgs', 'OutErrors', 'InCsumErrors', 'OutRateLimitHost'];

/** One namespace's MIBs (net->mib) */
export class NetMib {
  readonly Ip = new IpMib();
  readonly IpExt = new IpExtMib();
  readonly IcmpMsg = new IcmpMsgMib();
  readonly Icmp = new IcmpMib(this.IcmpMsg);
  readonly Tcp = new TcpMib();
  readonly TcpExt = new TcpExtMib();
  readonly Udp = new UdpMib();
  readonly UdpLite = new UdpMib();
  readonly Ip6 = new Ip6Mib();
  readonly Icmp6Msg = new IcmpMsgMib();
  readonly Icmp6 = new Icmp6Mib(this.Icmp6Msg);
  readonly Udp6 = new UdpMib();
  readonly UdpLite6 = new UdpMib();
  readonly MPTcpExt = new MPTcpExtMib();
  /** what /proc lists and in what order: the profile's kernel version (NetStack sets it from the sysctl) */
  layout: MibLayout = MIB_LAYOUT_6_1;
}

/** Linux 6.12's layout: the model's *_FIELDS lists (snmp4_*_list, snmp6_*_list of 6.12) */
export const MIB_LAYOUT_6_12: MibLayout = {
  release: '6.12',
  snmp: [
    ['Ip', IP_FIELDS],
    ['Icmp', ICMP_FIELDS],
    ['Tcp', TCP_FIELDS],
    ['Udp', UDP_FIELDS],
    ['UdpLite', UDP_FIELDS],
  ],
  netstat: [
    ['TcpExt', TCPEXT_FIELDS],
    ['IpExt', IPEXT_FIELDS],
  ],
  snmp6: [
    ...IP6_FIELDS.map((n) => `Ip6${n}`),
    ...ICMP6_FIELDS.map((n) => `Icmp6${n}`),
    ...ICMP6_MIB_MAP.map(([n]) => `Icmp6In${n}`),
    ...ICMP6_MIB_MAP.map(([n]) => `Icmp6Out${n}`),
    ...UDP_FIELDS.map((n) => `Udp6${n}`),
    ...UDP_FIELDS.filter((n) => n !== 'IgnoredMulti').map((n) => `UdpLite6${n}`),
  ],
  // 6.1's 13 + input_qlen, process_qlen
  softnet_stat_columns: 15,
};

/** the layout a kernel version prints */
export function mib_layout(release: KernelRelease = DEFAULT_KERNEL_RELEASE): MibLayout {
  return release === '6.12' ? MIB_LAYOUT_6_12 : MIB_LAYOUT_6_1;
}

export interface MibEntry {
  /** the /proc line prefix: Ip, Icmp, IcmpMsg, Tcp, Udp, UdpLite, TcpExt, IpExt, MPTcpExt; Ip6, Icmp6, Udp6, UdpLite6 */
  group: string;
  name: string;
  value: number;
  /** nstat's name: group + name, e.g. IpInReceives, TcpExtTCPTimeouts, IcmpMsgInType8 */
  nstat: string;
}

/** the model's object for a /proc group name (null: a group the model does not hold) */
export function mib_group(mib: NetMib, group: string): object | null {
  switch (group) {
    case 'Ip': return mib.Ip;
    case 'Icmp': return mib.Icmp;
    case 'Tcp': return mib.Tcp;
    case 'Udp': return mib.Udp;
    case 'UdpLite': return mib.UdpLite;
    case 'TcpExt': return mib.TcpExt;
    case 'IpExt': return mib.IpExt;
    case 'MPTcpExt': return mib.MPTcpExt;
    case 'Ip6': return mib.Ip6;
    case 'Icmp6': return mib.Icmp6;
    case 'Udp6': return mib.Udp6;
    case 'UdpLite6': return mib.UdpLite6;
    default: return null;
  }
}

/** /proc/net/snmp6 name prefixes, longest first (UdpLite6 before Udp6) */
const SNMP6_GROUPS = ['UdpLite6', 'Icmp6', 'Udp6', 'Ip6'];

function read(obj: object | null, name: string): number {
  // every layout name is a numeric field of its group (test/unit/core-mib.test.ts checks both layouts)
  const v = obj ? (obj as Record<string, unknown>)[name] : undefined;
  return typeof v === 'number' ? v : 0;
}

function icmpmsg_entries(msg: IcmpMsgMib): MibEntry[] {
  // icmpmsg_put: index i < 256 is InType i, i | 0x100 is OutType i; only non-zero, in index order
  const out: MibEntry[] = [];
  const push = (dir: string, arr: Float64Array): void => {
    for (let t = 0; t < 256; t++) {
      if (arr[t] !== 0) {
        const name = `${dir}Type${t}`;
        out.push({ group: 'IcmpMsg', name, value: arr[t], nstat: `IcmpMsg${name}` });
      }
    }
  };
  push('In', msg.InType);
  push('Out', msg.OutType);
  return out;
}

function entries(mib: NetMib, [group, names]: readonly [string, readonly string[]]): MibEntry[] {
  const obj = mib_group(mib, group);
  return names.map((name) => ({ group, name, value: read(obj, name), nstat: group + name }));
}

/**
 * every counter the layout lists, in /proc order: /proc/net/snmp (Ip, Icmp, IcmpMsg, Tcp, Udp,
 * UdpLite), then /proc/net/netstat (TcpExt, IpExt, and MPTcpExt in 6.1's layout)
 */
export function mib_list(mib: NetMib, layout: MibLayout = mib.layout): MibEntry[] {
  const out: MibEntry[] = [];
  for (const g of layout.snmp) {
    out.push(...entries(mib, g));
    if (g[0] === 'Icmp') out.push(...icmpmsg_entries(mib.IcmpMsg));
  }
  for (const g of layout.netstat) out.push(...entries(mib, g));
  return out;
}

function pair(group: string, list: readonly MibEntry[]): string {
  return `${group}: ${list.map((e) => e.name).join(' ')}\n${group}: ${list.map((e) => e.value).join(' ')}\n`;
}

/** the text of /proc/net/snmp (snmp_seq_show); IcmpMsg lines hold at most 16 columns as in icmpmsg_put */
export function snmp_seq_show(mib: NetMib, layout: MibLayout = mib.layout): string {
  let s = '';
  for (const g of layout.snmp) {
    s += pair(g[0], entries(mib, g));
    if (g[0] !== 'Icmp') continue;
    const msg = icmpmsg_entries(mib.IcmpMsg);
    for (let i = 0; i < msg.length; i += 16) s += pair('IcmpMsg', msg.slice(i, i + 16));
  }
  return s;
}

/** the text of /proc/net/netstat (netstat_seq_show, then mptcp_seq_show where the layout has MPTcpExt) */
export function netstat_seq_show(mib: NetMib, layout: MibLayout = mib.layout): string {
  return layout.netstat.map((g) => pair(g[0], entries(mib, g))).join('');
}

/**
 * every /proc/net/snmp6 counter in its order (snmp6_seq_show): Ip6, Icmp6, the named Icmp6 In/Out types,
 * Icmp6In/OutType<N> (non-zero only), Udp6, UdpLite6. `name` and `nstat` are both the full /proc name.
 */
export function mib6_list(mib: NetMib, layout: MibLayout = mib.layout): MibEntry[] {
  const out: MibEntry[] = [];
  const push = (group: string, name: string, value: number): void => {
    out.push({ group, name: group + name, value, nstat: group + name });
  };
  // snmp6_seq_show_icmpv6msg: the numbered types (In 0..255, then Out) follow the named ones
  const types = (): void => {
    for (let t = 0; t < 256; t++) if (mib.Icmp6Msg.InType[t] !== 0) push('Icmp6', `InType${t}`, mib.Icmp6Msg.InType[t]);
    for (let t = 0; t < 256; t++) if (mib.Icmp6Msg.OutType[t] !== 0) push('Icmp6', `OutType${t}`, mib.Icmp6Msg.OutType[t]);
  };
  let prev = '';
  for (const full of layout.snmp6) {
    const group = SNMP6_GROUPS.find((g) => full.startsWith(g)) ?? '';
    if (prev === 'Icmp6' && group !== 'Icmp6') types();
    const field = full.slice(group.length);
    push(group, field, read(mib_group(mib, group), field));
    prev = group;
  }
  if (prev === 'Icmp6') types();
  return out;
}

/** the text of /proc/net/snmp6: one "%-32s\t%lu" line per counter */
export function snmp6_seq_show(mib: NetMib, layout: MibLayout = mib.layout): string {
  return mib6_list(mib, layout).map((e) => `${e.name.padEnd(32)}\t${e.value}\n`).join('');
}
