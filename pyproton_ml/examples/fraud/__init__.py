"""examples/fraud"""
