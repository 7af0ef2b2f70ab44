import socket, sys, time
# Listen on 127.0.0.1:<port>, accept one connection, read until the first TLS record set holds a
# whole handshake message (or 2 s pass), save the raw bytes as hex to argv[2], close.
port=int(sys.argv[1]); out=sys.argv[2]
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR,1); s.bind(('127.0.0.1',port)); s.listen(1)
c,_=s.accept(); c.settimeout(2.0); data=b''
try:
    while True:
        d=c.recv(65536)
        if not d: break
        data+=d
        # parse records; stop once the handshake payload holds 4+len bytes
        hs=b''; i=0
        while i+5<=len(data):
            ln=int.from_bytes(data[i+3:i+5],'big')
            if i+5+ln>len(data): break
            hs+=data[i+5:i+5+ln]; i+=5+ln
        if len(hs)>=4 and len(hs)>=4+int.from_bytes(hs[1:4],'big'):
            data=data[:i]; break
except socket.timeout: pass
c.close(); s.close()
open(out,'w').write(data.hex()+'\n')
print(out, len(data))
