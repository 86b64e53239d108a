/** The settings a person types into Thunderbird (or any IMAP client) to reach this server. */

export interface ClientSettings {
  host: string;
  port: number;
  user: string;
  starttls: boolean;
}

export function thunderbirdSettings(s: ClientSettings): string {
  return [
    "Thunderbird settings (Account Settings > Add Mail Account > Configure manually):",
    `  Incoming server:     IMAP`,
    `  Hostname:            ${s.host}`,
    `  Port:                ${s.port}`,
    `  Connection security: ${s.starttls ? "STARTTLS (accept the self-signed certificate after checking its fingerprint)" : "None (the server listens on this computer only)"}`,
    `  Authentication:      Normal password`,
    `  Username:            ${s.user}`,
    `  Password:            the account password chosen at init`,
    `  Outgoing server:     your mail provider's SMTP server, as before (this server only stores mail;`,
    `                       README, "How mail gets in", says how new mail reaches it)`,
    "",
  ].join("\n");
}

/** For --json. */
export function thunderbirdSettingsJson(s: ClientSettings) {
  return {
    protocol: "IMAP",
    host: s.host,
    port: s.port,
    connectionSecurity: s.starttls ? "STARTTLS" : "none",
    authentication: "normal password",
    username: s.user,
    outgoingServer: "your mail provider's SMTP server (this server only stores mail)",
  };
}
