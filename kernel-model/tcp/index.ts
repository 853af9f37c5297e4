// The TCP model's public surface (see tcp_ipv4.ts for the namespace, sock.ts for the socket API).
export { tcp_v4_init, tcp_v4_shutdown, TcpNet, TcpForwardRequest, type TcpForwarder, type TcpConnectOptions, type SynInfo } from './tcp_ipv4';
export { TcpSock, TcpListener, type TcpInfo, type TcpDataHandler } from './sock';
export { defaultTcpSysctl, type TcpSysctl } from './sysctl';
export { tcpStateName, type TcpStateName } from './tcp_states';
