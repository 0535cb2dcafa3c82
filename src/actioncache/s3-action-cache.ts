import { collect } from '../blobstore/blob-io';
import { S3Location } from '../blobstore/s3/s3-connection';
import { isS3NotFound, s3StatusError } from '../blobstore/s3/s3-errors';
import { acKey } from '../blobstore/s3/s3-keys';
import { Digest } from '../digest/digest';
import { encode, re, REv2 } from '../proto';
import { ActionCache } from './action-cache';

/**
 * ActionResults as objects `{prefix}ac/{hash}-{size}`. An entry is written with one PUT, which S3 makes visible
 * atomically (readers see the old or the new entry, never a torn one); the last writer wins, as REAPI allows.
 * S3 failures are UNAVAILABLE; an absent or undecodable entry is a miss.
 */
export class S3ActionCache implements ActionCache {
  constructor(private readonly s3: S3Location) {}

  async get(actionDigest: Digest): Promise<REv2.ActionResult | undefined> {
    const key = acKey(this.s3.prefix, actionDigest);
    let bytes: Buffer;
    try {
      bytes = await collect(await this.s3.client.getObject(this.s3.bucket, key));
    } catch (err) {
      if (isS3NotFound(err)) return undefined;
      throw s3StatusError(err, `reading action result ${actionDigest} from s3://${this.s3.bucket}/${key}`);
    }
    try {
      return re.ActionResult.decode(bytes);
    } catch {
      return undefined; // The next UpdateActionResult replaces it.
    }
  }

  async put(actionDigest: Digest, result: REv2.IActionResult): Promise<void> {
    const key = acKey(this.s3.prefix, actionDigest);
    const bytes = Buffer.from(encode(re.ActionResult, result as REv2.ActionResult));
    try {
      await this.s3.client.putObject(this.s3.bucket, key, bytes, bytes.byteLength);
    } catch (err) {
      throw s3StatusError(err, `storing action result ${actionDigest} at s3://${this.s3.bucket}/${key}`);
    }
  }
}
