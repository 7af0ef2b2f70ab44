package dev.funnel.registry.alias;

import dev.funnel.common.bus.AliasInfo;
import dev.funnel.common.net.HostPort;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * Asks the configured recursive resolver (dnsjava's {@link SimpleResolver}, UDP with TCP on
 * truncation) the two questions of an alias check: TXT at {@code _funnel-challenge.ALIAS} and CNAME
 * at ALIAS. Blocking: call only from a worker thread. NXDOMAIN and NODATA are answers (nothing
 * there); a timeout, SERVFAIL or REFUSED is a failed lookup.
 */
public final class DnsAliasLookup {

  private final SimpleResolver resolver;

  public DnsAliasLookup(HostPort server, long timeoutMillis) {
    try {
      resolver = new SimpleResolver(server.host());
    } catch (java.net.UnknownHostException e) {
      throw new IllegalArgumentException("alias resolver " + server + ": " + e.getMessage(), e);
    }
    resolver.setPort(server.port());
    resolver.setTimeout(Duration.ofMillis(timeoutMillis));
  }

  public AliasCheck.Lookup lookup(String alias) {
    try {
      Name name = Name.fromString(alias + ".");
      Name challenge = Name.fromString(AliasInfo.CHALLENGE_LABEL + "." + alias + ".");
      List<String> txt = new ArrayList<>();
      for (Record r : ask(challenge, Type.TXT)) {
        if (r instanceof TXTRecord t && r.getName().equals(challenge)) {
          txt.add(String.join("", t.getStrings()));
        }
      }
      List<String> cnames = new ArrayList<>();
      for (Record r : ask(name, Type.CNAME)) {
        if (r instanceof CNAMERecord c && r.getName().equals(name)) {
          cnames.add(c.getTarget().toString(true));
        }
      }
      return new AliasCheck.Lookup(txt, cnames, null);
    } catch (TextParseException e) {
      return AliasCheck.Lookup.failed("not a DNS name: " + e.getMessage());
    } catch (LookupFailed e) {
      return AliasCheck.Lookup.failed(e.getMessage());
    }
  }

  private List<Record> ask(Name name, int type) {
    Message response;
    try {
      response = resolver.send(Message.newQuery(Record.newRecord(name, type, DClass.IN)));
    } catch (IOException e) {
      throw new LookupFailed(Type.string(type) + " " + name + ": " + (e.getMessage() == null ? e : e.getMessage()));
    }
    int rcode = response.getRcode();
    if (rcode == Rcode.NXDOMAIN) {
      return List.of();
    }
    if (rcode != Rcode.NOERROR) {
      throw new LookupFailed(Type.string(type) + " " + name + ": " + Rcode.string(rcode));
    }
    return response.getSection(Section.ANSWER);
  }

  private static final class LookupFailed extends RuntimeException {
    LookupFailed(String message) {
      super(message, null, false, false);
    }
  }
}
