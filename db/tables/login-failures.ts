/** Failed sign-ins per key (`email:…` or `ip:…`) and time window, for throttling. */
export interface LoginFailuresTable {
  key: string;
  window_start: Date;
  failures: number;
}
