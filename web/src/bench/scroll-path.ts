// The benchmark's scroll path, shared by the grid's page and its floor so that both scroll the
// same way: a diagonal of 37 x 113 px per frame that bounces off the edges of the content.
export class BouncingPath {
  x = 0;
  y = 0;
  private dx = 37;
  private dy = 113;

  constructor(
    private readonly maxX: number,
    private readonly maxY: number,
  ) {}

  /** Moves one frame's step. */
  step(): void {
    this.x += this.dx;
    this.y += this.dy;
    if (this.x < 0 || this.x > this.maxX) this.dx = -this.dx;
    if (this.y < 0 || this.y > this.maxY) this.dy = -this.dy;
  }
}
