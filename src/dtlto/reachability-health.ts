import { Reachability } from '../client/reachability';
import { BackendHealth } from './fallback-job-runner';

/**
 * BackendHealth for one link, backed by the marker file the rustc wrapper uses too: within a link the first
 * unreachable job decides for the rest; across processes a fresh marker skips the connection attempt.
 */
export class ReachabilityHealth implements BackendHealth {
  private down = false;

  constructor(private readonly reach: Reachability) {}

  async knownDown(): Promise<boolean> {
    return this.down || (await this.reach.recentlyUnreachable());
  }

  async markDown(): Promise<boolean> {
    if (this.down) return false;
    this.down = true;
    return this.reach.markUnreachable();
  }

  markUp(): Promise<void> {
    return this.reach.markReachable();
  }
}
