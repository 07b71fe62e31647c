// A free loopback port for a program that needs a number in its config file (HAProxy, nginx, a wspass
// restarted on the same port): bind port 0, read the port the kernel chose, close. Another process could
// take it in between; on a test or bench machine that is rare enough, and the program then fails loudly.
import net from 'node:net';

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
