/**
 * Address lists (RFC 5322 §3.4) read into ENVELOPE addresses (RFC 3501 §7.4.2) the way Dovecot 2.3
 * reads them, broken input included: a missing local part or domain becomes MISSING_MAILBOX or
 * MISSING_DOMAIN, an unreadable angle address gets the domain SYNTAX_ERROR, a comment after a bare
 * addr-spec becomes the display name, and groups open with (NIL NIL name NIL) and close with
 * (NIL NIL NIL NIL). Encoded words stay encoded: ENVELOPE carries raw header text.
 */
import { withoutNul } from "./headerBlock.ts";
import { Rfc822Reader } from "./rfc822Reader.ts";
import type { ByteString, EnvelopeAddress } from "./types.ts";

interface Draft {
  name: string | null;
  route: string | null;
  mailbox: string | null;
  domain: string | null;
  invalid: boolean;
}

const emptyDraft = (): Draft => ({ name: null, route: null, mailbox: null, domain: null, invalid: false });

class AddressParser {
  readonly out: EnvelopeAddress[] = [];
  addr: Draft = emptyDraft();
  constructor(readonly r: Rfc822Reader) {}

  private add(): void {
    const { name, route, mailbox, domain } = this.addr;
    this.out.push({ name, route, mailbox, domain });
    this.addr = emptyDraft();
  }

  private addFixed(): void {
    if (this.addr.mailbox === null) {
      this.addr.mailbox = "MISSING_MAILBOX";
      this.addr.invalid = true;
    }
    if (this.addr.domain === null || this.addr.domain === "") {
      this.addr.domain = "MISSING_DOMAIN";
      this.addr.invalid = true;
    }
    this.add();
  }

  private localPart(): number {
    const out: string[] = [];
    const ret = this.r.at() === 0x22 ? this.r.quotedString(out) : this.r.dotAtom(out);
    if (ret < 0) return -1;
    this.addr.mailbox = out.join("");
    return ret;
  }

  private domain(): number {
    const out: string[] = [];
    const ret = this.r.domain(out);
    if (ret < 0) return -1;
    this.addr.domain = out.join("");
    return ret;
  }

  /** obs-domain-list: "@a,@b" before the ":" of a source route. */
  private domainList(): number {
    let route = "";
    for (;;) {
      if (this.r.pos >= this.r.end) return 0;
      if (this.r.at() !== 0x40) break;
      if (route.length > 0) route += ",";
      route += "@";
      const out: string[] = [];
      const ret = this.r.domain(out);
      route += out.join("");
      if (ret <= 0) return ret;
      while (this.r.skipLwsp() > 0 && this.r.at() === 0x2c) this.r.pos++;
    }
    this.addr.route = route;
    return 1;
  }

  private angleAddr(): number {
    this.r.pos++; // "<"
    if (this.r.skipLwsp() <= 0) return -1;
    if (this.r.at() === 0x40) {
      if (this.domainList() > 0 && this.r.at() === 0x3a) {
        this.r.pos++;
      } else {
        this.addr.route = "INVALID_ROUTE";
        if (this.r.pos >= this.r.end) return -1;
      }
      if (this.r.skipLwsp() <= 0) return -1;
    }
    if (this.r.at() !== 0x3e) {
      if (this.localPart() <= 0) return -1;
      if (this.r.at() === 0x40 && this.domain() <= 0) return -1;
    }
    if (this.r.at() !== 0x3e) return -1;
    this.r.pos++;
    return this.r.skipLwsp();
  }

  private nameAddr(): number {
    const out: string[] = [];
    if (this.r.phrase(out) <= 0 || this.r.at() !== 0x3c) return -1;
    const name = out.join("");
    this.addr.name = name === "" ? null : name;
    if (this.angleAddr() < 0) {
      this.addr.domain = "SYNTAX_ERROR";
      this.addr.invalid = true;
    }
    return this.r.pos < this.r.end ? 1 : 0;
  }

  private addrSpec(): number {
    let ret2 = -2;
    if (this.r.lastComment !== null) this.r.lastComment = "";
    const quoted = this.r.at() === 0x22;
    let ret = this.localPart();
    if (ret <= 0) this.addr.invalid = true;
    if (ret !== 0 && this.r.pos < this.r.end && this.r.at() === 0x40) {
      ret2 = this.domain();
      if (ret2 <= 0) ret = ret2;
    }
    if (this.r.lastComment) {
      this.addr.name = this.r.lastComment;
    } else if (ret2 === -2) {
      // a lone word is a mailbox without domain; more words make it a display name
      const out: string[] = [this.addr.mailbox ?? "", " "];
      const before = out.join("").length;
      this.r.phrase(out);
      if (out.join("").length !== before) {
        this.addr.mailbox = null;
        this.addr.name = out.join("");
      } else if (!quoted) {
        this.addr.domain = "";
      }
      this.addr.invalid = true;
      ret = -1;
    }
    return ret;
  }

  mailbox(): number {
    const start = this.r.pos;
    let ret = this.nameAddr();
    if (ret < 0) {
      this.r.pos = start;
      ret = this.addrSpec();
      if (
        this.addr.invalid &&
        this.addr.name === null &&
        this.addr.mailbox !== null &&
        this.addr.domain === null
      ) {
        this.addr.name = this.addr.mailbox;
        this.addr.mailbox = null;
      }
    }
    if (ret < 0) this.addr.invalid = true;
    this.addFixed();
    return ret;
  }

  private group(): number {
    const out: string[] = [];
    if (this.r.phrase(out) <= 0 || this.r.at() !== 0x3a) return -1;
    this.r.pos++;
    let ret = this.r.skipLwsp();
    if (ret <= 0) this.addr.invalid = true;
    this.addr.mailbox = out.join("");
    this.add();
    if (ret > 0 && this.r.at() !== 0x3b) {
      for (;;) {
        this.mailbox();
        if (this.r.pos >= this.r.end || this.r.at() !== 0x2c) break;
        this.r.pos++;
        if (this.r.skipLwsp() <= 0) {
          ret = -1;
          break;
        }
      }
    }
    if (ret >= 0) {
      if (this.r.pos >= this.r.end || this.r.at() !== 0x3b) ret = -1;
      else {
        this.r.pos++;
        ret = this.r.skipLwsp();
      }
    }
    this.add(); // end of group
    return ret === 0 ? 0 : 1;
  }

  address(): number {
    const start = this.r.pos;
    let ret = this.group();
    if (ret < 0) {
      this.r.pos = start;
      ret = this.mailbox();
    }
    return ret;
  }

  list(): void {
    for (;;) {
      if (this.address() === 0) break;
      if (this.r.pos >= this.r.end || this.r.at() !== 0x2c) break;
      this.r.pos++;
      const ret = this.r.skipLwsp();
      if (ret <= 0) {
        if (ret < 0) this.addFixed(); // ends with garbage
        break;
      }
    }
  }
}

/** The addresses of one header value (From, To, ...); empty when it holds none. */
export function parseAddressList(value: ByteString): EnvelopeAddress[] {
  const reader = new Rfc822Reader(withoutNul(value), true);
  const parser = new AddressParser(reader);
  if (reader.skipLwsp() > 0) parser.list();
  return parser.out;
}
